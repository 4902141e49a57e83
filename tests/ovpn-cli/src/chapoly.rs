// SPDX-License-Identifier: GPL-2.0

//! ChaCha20-Poly1305 (RFC 8439) in plain Rust, for the packet fuzzer to
//! seal authentic DATA_V2 packets without a system call per packet (the
//! guest is slow per system call) and without a crate dependency.  Test
//! code only: neither constant-time nor fast.

/// One ChaCha20 block for `key`, `counter` and `nonce`.
fn block(key: &[u8; 32], counter: u32, nonce: &[u8; 12]) -> [u8; 64] {
    let mut s = [0u32; 16];
    s[0] = 0x6170_7865;
    s[1] = 0x3320_646e;
    s[2] = 0x7962_2d32;
    s[3] = 0x6b20_6574;
    for i in 0..8 {
        s[4 + i] = u32::from_le_bytes(key[4 * i..4 * i + 4].try_into().unwrap());
    }
    s[12] = counter;
    for i in 0..3 {
        s[13 + i] = u32::from_le_bytes(nonce[4 * i..4 * i + 4].try_into().unwrap());
    }
    let mut w = s;
    fn qr(w: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
        w[a] = w[a].wrapping_add(w[b]);
        w[d] = (w[d] ^ w[a]).rotate_left(16);
        w[c] = w[c].wrapping_add(w[d]);
        w[b] = (w[b] ^ w[c]).rotate_left(12);
        w[a] = w[a].wrapping_add(w[b]);
        w[d] = (w[d] ^ w[a]).rotate_left(8);
        w[c] = w[c].wrapping_add(w[d]);
        w[b] = (w[b] ^ w[c]).rotate_left(7);
    }
    for _ in 0..10 {
        qr(&mut w, 0, 4, 8, 12);
        qr(&mut w, 1, 5, 9, 13);
        qr(&mut w, 2, 6, 10, 14);
        qr(&mut w, 3, 7, 11, 15);
        qr(&mut w, 0, 5, 10, 15);
        qr(&mut w, 1, 6, 11, 12);
        qr(&mut w, 2, 7, 8, 13);
        qr(&mut w, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&w[i].wrapping_add(s[i]).to_le_bytes());
    }
    out
}

/// XORs the ChaCha20 key stream from block `counter` on into `data`.
fn xor_stream(key: &[u8; 32], mut counter: u32, nonce: &[u8; 12], data: &mut [u8]) {
    for chunk in data.chunks_mut(64) {
        let ks = block(key, counter, nonce);
        for (b, k) in chunk.iter_mut().zip(ks.iter()) {
            *b ^= k;
        }
        counter = counter.wrapping_add(1);
    }
}

/// Poly1305 (26-bit limbs, after poly1305-donna).
struct Poly {
    r: [u32; 5],
    h: [u32; 5],
    pad: [u32; 4],
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().unwrap())
}

impl Poly {
    fn new(key: &[u8; 32]) -> Self {
        Poly {
            r: [
                le32(&key[0..]) & 0x03ff_ffff,
                (le32(&key[3..]) >> 2) & 0x03ff_ff03,
                (le32(&key[6..]) >> 4) & 0x03ff_c0ff,
                (le32(&key[9..]) >> 6) & 0x03f0_3fff,
                (le32(&key[12..]) >> 8) & 0x000f_ffff,
            ],
            h: [0; 5],
            pad: [
                le32(&key[16..]),
                le32(&key[20..]),
                le32(&key[24..]),
                le32(&key[28..]),
            ],
        }
    }

    /// Absorbs one block of at most 16 bytes (a shorter one is padded
    /// with 0x01 and zeros, as the last block of a message).
    fn block(&mut self, m: &[u8]) {
        let mut buf = [0u8; 17];
        buf[..m.len()].copy_from_slice(m);
        let hibit = if m.len() == 16 {
            1 << 24
        } else {
            buf[m.len()] = 1;
            0
        };
        let [r0, r1, r2, r3, r4] = self.r.map(u64::from);
        let (s1, s2, s3, s4) = (r1 * 5, r2 * 5, r3 * 5, r4 * 5);
        let h = &mut self.h;
        let h0 = u64::from(h[0] + (le32(&buf[0..]) & 0x03ff_ffff));
        let h1 = u64::from(h[1] + ((le32(&buf[3..]) >> 2) & 0x03ff_ffff));
        let h2 = u64::from(h[2] + ((le32(&buf[6..]) >> 4) & 0x03ff_ffff));
        let h3 = u64::from(h[3] + ((le32(&buf[9..]) >> 6) & 0x03ff_ffff));
        let h4 = u64::from(h[4] + ((le32(&buf[12..]) >> 8) | hibit));
        let d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
        let mut d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
        let mut d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
        let mut d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
        let mut d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
        const M: u64 = 0x03ff_ffff;
        let mut c = d0 >> 26;
        let mut n0 = d0 & M;
        d1 += c;
        c = d1 >> 26;
        let n1 = d1 & M;
        d2 += c;
        c = d2 >> 26;
        let n2 = d2 & M;
        d3 += c;
        c = d3 >> 26;
        let n3 = d3 & M;
        d4 += c;
        c = d4 >> 26;
        let n4 = d4 & M;
        n0 += c * 5;
        c = n0 >> 26;
        n0 &= M;
        let n1 = n1 + c;
        *h = [n0 as u32, n1 as u32, n2 as u32, n3 as u32, n4 as u32];
    }

    fn finish(mut self) -> [u8; 16] {
        const M: u32 = 0x03ff_ffff;
        let h = &mut self.h;
        let mut c = h[1] >> 26;
        h[1] &= M;
        for x in &mut h[2..5] {
            *x += c;
            c = *x >> 26;
            *x &= M;
        }
        h[0] += c * 5;
        c = h[0] >> 26;
        h[0] &= M;
        h[1] += c;
        // h - p, selected if it does not underflow.
        let mut g = [0u32; 5];
        g[0] = h[0].wrapping_add(5);
        c = g[0] >> 26;
        g[0] &= M;
        for i in 1..4 {
            g[i] = h[i].wrapping_add(c);
            c = g[i] >> 26;
            g[i] &= M;
        }
        g[4] = h[4].wrapping_add(c).wrapping_sub(1 << 26);
        let mask = (g[4] >> 31).wrapping_sub(1);
        for i in 0..5 {
            h[i] = (h[i] & !mask) | (g[i] & mask);
        }
        let w0 = h[0] | (h[1] << 26);
        let w1 = (h[1] >> 6) | (h[2] << 20);
        let w2 = (h[2] >> 12) | (h[3] << 14);
        let w3 = (h[3] >> 18) | (h[4] << 8);
        let mut out = [0u8; 16];
        let mut f: u64 = 0;
        for (i, w) in [w0, w1, w2, w3].into_iter().enumerate() {
            f = u64::from(w) + u64::from(self.pad[i]) + (f >> 32);
            out[4 * i..4 * i + 4].copy_from_slice(&(f as u32).to_le_bytes());
        }
        out
    }
}

/// The Poly1305 tag of `aad` and `ct` as the AEAD construction MACs them.
fn tag(otk: &[u8; 32], aad: &[u8], ct: &[u8]) -> [u8; 16] {
    let mut p = Poly::new(otk);
    let mut absorb = |data: &[u8]| {
        for chunk in data.chunks(16) {
            let mut b = [0u8; 16];
            b[..chunk.len()].copy_from_slice(chunk);
            p.block(&b); // padded to 16 with zeros (pad16)
        }
    };
    absorb(aad);
    absorb(ct);
    let mut lens = [0u8; 16];
    lens[..8].copy_from_slice(&(aad.len() as u64).to_le_bytes());
    lens[8..].copy_from_slice(&(ct.len() as u64).to_le_bytes());
    p.block(&lens);
    p.finish()
}

/// Seals `data` in place (it becomes the ciphertext) and returns the tag.
pub fn seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], data: &mut [u8]) -> [u8; 16] {
    let mut otk = [0u8; 32];
    otk.copy_from_slice(&block(key, 0, nonce)[..32]);
    xor_stream(key, 1, nonce, data);
    tag(&otk, aad, data)
}

/// Opens `data` in place if `tag` is right.
pub fn open(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], data: &mut [u8], t: &[u8]) -> bool {
    let mut otk = [0u8; 32];
    otk.copy_from_slice(&block(key, 0, nonce)[..32]);
    if tag(&otk, aad, data)[..] != *t {
        return false;
    }
    xor_stream(key, 1, nonce, data);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse_hex, to_hex};

    /// RFC 8439, 2.5.2.
    #[test]
    fn poly1305_rfc_vector() {
        let key: [u8; 32] =
            parse_hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
                .unwrap()
                .try_into()
                .unwrap();
        let mut p = Poly::new(&key);
        for chunk in b"Cryptographic Forum Research Group".chunks(16) {
            p.block(chunk);
        }
        assert_eq!(to_hex(&p.finish()), "a8061dc1305136c6c22b8baf0c0127a9");
    }

    /// Against Python's `cryptography` (ChaCha20Poly1305): key 0x80..0xa0,
    /// nonce 00000007 4041..47, AAD 48000002 00000007, plaintext byte i
    /// = 7i + 3; ciphertext then tag.
    #[test]
    fn aead_vectors() {
        let key: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let mut nonce = [0u8; 12];
        nonce[3] = 7;
        for (i, b) in nonce[4..].iter_mut().enumerate() {
            *b = 0x40 + i as u8;
        }
        let aad = [0x48, 0, 0, 2, 0, 0, 0, 7];
        for (n, want) in [
            (0usize, "3fc50c44e2d53d81560f73f47b50a3ab"),
            (1, "3b84112c304ea819f641683d70af12fc99"),
            (15, "3be74d32a42c207e7767425d06681fb2dd0afbd69c05685d5627f07c6ca6b3"),
            (16, "3be74d32a42c207e7767425d06681fa4a53d549e97d36eed2c3e77393bbd5662"),
            (17, "3be74d32a42c207e7767425d06681fa426a42e45e84a1dcf58fbb19f135affdc03"),
            (
                100,
                "3be74d32a42c207e7767425d06681fa42664da65fe6375e6d737a2d58cc802d825001bd1b1683fe44e0817c7ead45de02c23ac5a1cb8dd209270fd72282c6c7c004d4d699604bf3adc37d060a45a04910ed252aa240e42568bfe88584478ca3f319232493d49d1341cafd9d3df5210f9ba882e36",
            ),
        ] {
            let pt: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let mut ct = pt.clone();
            let t = seal(&key, &nonce, &aad, &mut ct);
            let mut got = ct.clone();
            got.extend_from_slice(&t);
            assert_eq!(to_hex(&got), want, "length {n}");
            assert!(open(&key, &nonce, &aad, &mut ct, &t));
            assert_eq!(ct, pt);
            let mut bad = t;
            bad[0] ^= 1;
            assert!(!open(&key, &nonce, &aad, &mut got[..n].to_vec(), &bad));
        }
    }
}
