// SPDX-License-Identifier: GPL-2.0

//! `ovpn-cli`: a test client for the ovpn-dco-v2 kernel module.
//!
//! It creates and deletes ovpn-dco devices over rtnetlink and drives the
//! `ovpn-dco-v2` generic netlink family (peers, keys, notifications), with
//! every ABI number taken from [`ovpn_dco_proto::uapi`].  Netlink errors are
//! reported as one line, `error: <errno name> (<errno>)[: <extack message>]`,
//! and the errno becomes the exit status, so that test scripts can assert
//! on both.  See `USAGE` in the `cli` module for the commands.

mod chapoly;
mod churn;
mod cli;
mod commands;
mod error;
mod fuzz_nl;
mod fuzz_pkt;
mod genl;
mod holder;
mod keys;
mod link;
mod nl;
mod rawnl;
mod reply;
mod sockaddr;
mod tcp;

use std::process::ExitCode;

use error::Error;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let status = match cli::parse(&argv).and_then(commands::run) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("error: {e}");
            if let Error::Usage(_) = e {
                eprintln!("run 'ovpn-cli help' for usage");
            }
            e.exit_code()
        }
    };
    ExitCode::from(u8::try_from(status).unwrap_or(u8::MAX))
}
