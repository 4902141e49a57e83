#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that the ovpn-dco-v2 ABI files agree with the family's YNL spec.

  tests/ynl-check.py              the committed header and netlink tables
                                  are what tools/ynl-gen.py makes of the
                                  spec, and src/proto/uapi.rs has its numbers
  tests/ynl-check.py --kdir KDIR  with a kernel tree's YNL (Linux 7.3's):
                                  the spec validates against the tree's
                                  genetlink-legacy schema and loads in YNL's
                                  own library, and the header the kernel's
                                  ynl_gen_c.py makes of it gives every name
                                  the value our header gives it

Prints one "PASS <check>" or "FAIL <check>: <why>" line per check and exits
non-zero on any failure (tests/run-all.sh counts the lines).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = 'Documentation/netlink/specs/ovpn-dco-v2.yaml'
HEADER = 'include/uapi/linux/ovpn_dco.h'
# The kernel's generator accepts only the kernel's license for specs.
KERNEL_SPEC_LICENSE = '((GPL-2.0 WITH Linux-syscall-note) OR BSD-3-Clause)'
# Names the kernel's generator adds and ours leaves out: a notification's
# own command name (it shares its number with OVPN_CMD_DEL_PEER).
KERNEL_ONLY = {'OVPN_CMD_DEL_PEER_NTF'}

failures = 0


def result(name, why=None, detail=None):
    global failures
    if why is None:
        print(f'PASS {name}')
    else:
        failures += 1
        print(f'FAIL {name}: {why}')
        if detail:
            # Indented: a runner counts only the lines that start with
            # PASS or FAIL.
            for line in detail.rstrip('\n').split('\n'):
                print('  ' + line)


def host_checks():
    p = subprocess.run([sys.executable, os.path.join(ROOT, 'tools/ynl-gen.py'), '--check'],
                       capture_output=True, text=True)
    out = p.stdout + p.stderr
    if p.returncode == 0:
        result('ynl-spec: generated files and uapi.rs agree with the spec')
    else:
        result('ynl-spec: generated files and uapi.rs agree with the spec',
               'tools/ynl-gen.py --check failed', out)


def schema_check(kdir):
    import yaml
    name = 'ynl-spec: validates against the kernel schema'
    schema_path = os.path.join(kdir, 'Documentation/netlink/genetlink-legacy.yaml')
    try:
        import jsonschema
        with open(schema_path, encoding='utf-8') as f:
            schema = yaml.safe_load(f)
        with open(os.path.join(ROOT, SPEC), encoding='utf-8') as f:
            spec = yaml.safe_load(f)
        jsonschema.validate(spec, schema)
    except Exception as e:  # pylint: disable=broad-except
        result(name, f'{type(e).__name__}: {e}')
        return
    result(name)

    # YNL's own loader resolves every reference (sets, enums, ops).
    name = 'ynl-spec: loads in the kernel\'s YNL library'
    sys.path.insert(0, os.path.join(kdir, 'tools/net/ynl'))
    try:
        from pyynl.lib import SpecFamily  # pylint: disable=import-outside-toplevel
        fam = SpecFamily(os.path.join(ROOT, SPEC), schema_path=schema_path)
        ops = sorted(o.name for o in fam.msgs.values())
    except Exception as e:  # pylint: disable=broad-except
        result(name, f'{type(e).__name__}: {e}')
        return
    result(name)
    print(f'  messages: {" ".join(ops)}')


def header_names(text):
    """The enumerators and #defines of a header: {name: is_string}."""
    names = {}
    for body in re.findall(r'enum[^{;]*\{(.*?)\};', text, re.S):
        body = re.sub(r'/\*.*?\*/', '', body, flags=re.S)
        for m in re.finditer(r'^\s*([A-Za-z_]\w*)\s*(?:=[^,\n]*)?,?\s*$', body, re.M):
            names[m.group(1)] = False
    for m in re.finditer(r'^#define[ \t]+(\w+)[ \t]+(\S.*)$', text, re.M):
        names[m.group(1)] = m.group(2).startswith('"')
    return names


def header_values(cc, header, names, tmp):
    """Compiles a program printing each name's value from `header`."""
    src = os.path.join(tmp, 'values.c')
    exe = os.path.join(tmp, 'values')
    lines = ['#include <stdio.h>', f'#include "{header}"', 'int main(void)', '{']
    for n, is_str in sorted(names.items()):
        if is_str:
            lines.append(f'\tprintf("%s \\"%s\\"\\n", "{n}", {n});')
        else:
            lines.append(f'\tprintf("%s %lld\\n", "{n}", (long long)({n}));')
    lines += ['\treturn 0;', '}']
    with open(src, 'w', encoding='utf-8') as f:
        f.write('\n'.join(lines) + '\n')
    subprocess.run([cc, '-Wall', '-Werror', '-o', exe, src], check=True,
                   capture_output=True, text=True)
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return dict(line.split(' ', 1) for line in out.splitlines())


def kernel_generator_check(kdir):
    name = 'ynl-spec: the kernel\'s ynl_gen_c.py gives the same values'
    cc = shutil.which(os.environ.get('CC', 'cc')) or shutil.which('clang-19') \
        or shutil.which('clang')
    if not cc:
        result(name, 'no C compiler (cc, clang-19)')
        return
    with tempfile.TemporaryDirectory() as tmp:
        # ynl_gen_c.py names the spec by its path below the directory with a
        # MAINTAINERS file, and loads the schema next to specs/.
        tree = os.path.join(tmp, 'tree')
        os.makedirs(os.path.join(tree, 'Documentation/netlink/specs'))
        open(os.path.join(tree, 'MAINTAINERS'), 'w', encoding='utf-8').close()
        shutil.copy(os.path.join(kdir, 'Documentation/netlink/genetlink-legacy.yaml'),
                    os.path.join(tree, 'Documentation/netlink'))
        with open(os.path.join(ROOT, SPEC), encoding='utf-8') as f:
            spec = f.read().split('\n', 1)
        spec_copy = os.path.join(tree, SPEC)
        with open(spec_copy, 'w', encoding='utf-8') as f:
            f.write(f'# SPDX-License-Identifier: {KERNEL_SPEC_LICENSE}\n' + spec[1])
        theirs = os.path.join(tmp, 'theirs.h')
        p = subprocess.run([sys.executable,
                            os.path.join(kdir, 'tools/net/ynl/pyynl/ynl_gen_c.py'),
                            '--mode', 'uapi', '--header', '--spec', spec_copy, '-o', theirs],
                           capture_output=True, text=True)
        if p.returncode != 0 or not os.path.exists(theirs):
            result(name, 'ynl_gen_c.py failed', p.stdout + p.stderr)
            return
        ours = os.path.join(ROOT, HEADER)
        with open(ours, encoding='utf-8') as f:
            our_names = header_names(f.read())
        with open(theirs, encoding='utf-8') as f:
            their_names = header_names(f.read())
        try:
            ov = header_values(cc, ours, our_names, tmp)
            tv = header_values(cc, theirs, their_names, tmp)
        except subprocess.CalledProcessError as e:
            result(name, f'{e.cmd[0]} failed', (e.stdout or '') + (e.stderr or ''))
            return
    problems = []
    for n in sorted(set(ov) | set(tv)):
        if n not in tv:
            problems.append(f'{n}: only in {HEADER}')
        elif n not in ov:
            if n not in KERNEL_ONLY:
                problems.append(f'{n}: only in the kernel generator\'s header')
        elif ov[n] != tv[n]:
            problems.append(f'{n}: {ov[n]} here, {tv[n]} from ynl_gen_c.py')
    if problems:
        result(name, f'{len(problems)} difference(s)', '\n'.join(problems))
    else:
        result(name)
        print(f'  {len(set(ov) & set(tv))} names compared')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kdir', help='a kernel tree with tools/net/ynl (only its checks run)')
    args = ap.parse_args()
    if args.kdir:
        schema_check(args.kdir)
        kernel_generator_check(args.kdir)
    else:
        host_checks()
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
