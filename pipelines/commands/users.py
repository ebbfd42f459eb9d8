"""destinations users add|remove|list|passwd|demo: dashboard sign-ins (argon2 hashed store)."""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    p = subparsers.add_parser("users", help="manage dashboard users (<data dir>/auth/users.json)")
    sub = p.add_subparsers(dest="users_command", metavar="ACTION")

    a = sub.add_parser("add", help="add a user (or --replace an existing one)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=["trust_admin", "director", "academy"])
    a.add_argument("--urn", action="append", default=[], help="academy URN (repeat for several)")
    a.add_argument("--email", help="email for single sign-on (OIDC) users")
    a.add_argument("--display-name")
    a.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    a.add_argument("--generate-password", action="store_true",
                   help="create a random password and print it once")
    a.add_argument("--no-password", action="store_true", help="single sign-on only (needs --email)")
    a.add_argument("--replace", action="store_true")
    a.set_defaults(func=_add)

    r = sub.add_parser("remove", help="remove a user")
    r.add_argument("name")
    r.set_defaults(func=_remove)

    ls = sub.add_parser("list", help="list users (never the hashes)")
    ls.set_defaults(func=_list)

    pw = sub.add_parser("passwd", help="set a user's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true")
    pw.set_defaults(func=_passwd)

    u = sub.add_parser("unlock", help="lift a sign-in lock (after too many wrong passwords)")
    u.add_argument("name")
    u.set_defaults(func=_unlock)

    d = sub.add_parser("demo", help="create demo users (admin, director, one per academy) "
                                    "with random passwords printed once")
    d.add_argument("--academies", type=int, default=2, help="academy users to create (default 2)")
    d.add_argument("--force", action="store_true", help="reset passwords of existing demo users")
    d.set_defaults(func=_demo)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _read_password(args, *, allow_generate: bool = True) -> tuple[str | None, bool]:
    """(password, generated)."""
    from dashboards.lib.users import generate_password
    if getattr(args, "no_password", False):
        return None, False
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if allow_generate and getattr(args, "generate_password", False):
        return generate_password(), True
    if sys.stdin.isatty():
        import getpass
        a = getpass.getpass("Password: ")
        if a != getpass.getpass("Again: "):
            raise SystemExit("passwords differ")
        return a, False
    return generate_password(), True


def _add(args) -> int:
    from dashboards.lib import users
    try:
        pw, generated = _read_password(args)
        u = users.add_user(args.name, args.role, args.urn, password=pw, email=args.email,
                           display_name=args.display_name, replace=args.replace)
    except users.UserStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"saved {u.username} ({u.role}{', URN ' + ', '.join(u.urns) if u.urns else ''}) "
          f"in {users.users_file()}")
    if generated:
        print(f"password (shown once): {pw}")
    return 0


def _remove(args) -> int:
    from dashboards.lib import users
    try:
        users.remove_user(args.name)
    except users.UserStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"removed {args.name}")
    return 0


def _list(args) -> int:
    from dashboards.lib import users
    us = users.load_users()
    if not us:
        print(f"no users yet in {users.users_file()}")
        return 0
    print(f"{'name':20} {'role':12} {'urns':24} {'email':30} login")
    for u in sorted(us.values(), key=lambda u: (u.role, u.username)):
        v = users.public_view(u)
        print(f"{u.username:20} {u.role:12} {','.join(u.urns):24} {u.email or '':30} "
              f"{'password' if v['password_login'] else 'sso'}")
    return 0


def _passwd(args) -> int:
    from dashboards.lib import users
    try:
        pw, generated = _read_password(args)
        users.set_password(args.name, pw)
    except users.UserStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"password changed for {args.name}" + (f": {pw} (shown once)" if generated else ""))
    return 0


def _unlock(args) -> int:
    import os

    from dashboards.lib import users
    st = users.lock_status(args.name)
    users.unlock(args.name, by=os.environ.get("USER"))
    print(f"unlocked {args.name}" + ("" if st["locked"] else " (it was not locked)"))
    return 0


def _demo(args) -> int:
    import csv

    from dashboards.lib import users
    from pipelines.config import paths
    try:
        with open(paths().academies_csv, encoding="utf-8-sig") as fh:
            acads = [(r["urn"].strip(), r.get("name", "").strip()) for r in csv.DictReader(fh)]
    except OSError:
        acads = []
    plan = [("admin", "trust_admin", [], "Trust data team"), ("director", "director", [], "Director")]
    for urn, name in acads[: max(0, args.academies)]:
        plan.append((f"academy-{urn}", "academy", [urn], name or f"Academy {urn}"))
    existing = users.load_users()
    print(f"Dashboard users ({users.users_file()}); passwords are shown once:")
    for name, role, urns, label in plan:
        if name in existing and not args.force:
            print(f"  {name:22} {role:12} already exists (use --force to reset its password)")
            continue
        pw = users.generate_password()
        users.add_user(name, role, urns, password=pw, display_name=label, replace=True)
        print(f"  {name:22} {role:12} password: {pw}" + (f"   URN {urns[0]} {label}" if urns else ""))
    print("Sign in at http://localhost:8501 (make serve).")
    return 0
