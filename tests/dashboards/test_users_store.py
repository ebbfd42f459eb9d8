"""User store: salted argon2 hashes, authentication, removal, SSO mapping, CLI."""
import json
import subprocess
import sys

import pytest

from dashboards.lib import users


@pytest.fixture()
def store(tmp_path):
    return tmp_path / "auth" / "users.json"


def test_hashes_are_salted_argon2_and_never_plaintext(store):
    users.add_user("a1", "director", password="same-password-1", path=store)
    users.add_user("a2", "director", password="same-password-1", path=store)
    raw = store.read_text()
    assert "same-password-1" not in raw
    h = json.loads(raw)["users"]
    assert h["a1"]["password_hash"].startswith("$argon2id$")
    assert h["a1"]["password_hash"] != h["a2"]["password_hash"]  # per-user salt
    assert oct(store.stat().st_mode & 0o777) == "0o600"


def test_authenticate(store):
    users.add_user("head", "academy", ["100001"], password="correct-horse", path=store)
    assert users.authenticate("head", "correct-horse", store).urns == ("100001",)
    assert users.authenticate("head", "wrong-horse!", store) is None
    assert users.authenticate("nobody", "correct-horse", store) is None
    users.remove_user("head", store)
    assert users.authenticate("head", "correct-horse", store) is None


def test_rules(store):
    with pytest.raises(users.UserStoreError):
        users.add_user("acad", "academy", [], password="long-enough-1", path=store)
    with pytest.raises(users.UserStoreError):
        users.add_user("dir", "director", ["100001"], password="long-enough-1", path=store)
    with pytest.raises(users.UserStoreError):
        users.add_user("acad", "academy", ["12345"], password="long-enough-1", path=store)
    with pytest.raises(users.UserStoreError):
        users.add_user("acad", "academy", ["100001"], password="short", path=store)
    with pytest.raises(users.UserStoreError):
        users.add_user("acad", "superuser", [], password="long-enough-1", path=store)
    users.add_user("acad", "academy", ["100001"], password="long-enough-1", path=store)
    with pytest.raises(users.UserStoreError):  # no silent overwrite
        users.add_user("acad", "trust_admin", password="long-enough-1", path=store)


def test_sso_mapping_and_malformed_records_grant_nothing(store):
    users.add_user("sso", "director", email="Dir@Trust.org", path=store)
    assert users.find_by_email("dir@trust.org", store).username == "sso"
    assert users.authenticate("sso", "", store) is None  # SSO-only user has no password
    data = json.loads(store.read_text())
    data["users"]["evil"] = {"role": "academy", "urns": [], "email": "e@x.org"}
    data["users"]["odd"] = {"role": "root", "urns": [], "email": "o@x.org"}
    store.write_text(json.dumps(data))
    assert users.get_user("evil", store) is None
    assert users.find_by_email("o@x.org", store) is None


def test_cli_add_list_remove(tmp_path):
    env = {"DESTINATIONS_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    exe = [sys.executable, "-m", "pipelines.cli", "users"]
    r = subprocess.run(exe + ["add", "alder", "--role", "academy", "--urn", "100001", "--urn",
                              "100002", "--password-stdin"], input="a-long-password\n",
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert users.authenticate("alder", "a-long-password",
                              tmp_path / "auth" / "users.json").urns == ("100001", "100002")
    r = subprocess.run(exe + ["list"], capture_output=True, text=True, env=env)
    assert "alder" in r.stdout and "argon2" not in r.stdout
    assert subprocess.run(exe + ["add", "bad", "--role", "academy", "--password-stdin"], input="x" * 12,
                          capture_output=True, text=True, env=env).returncode == 2
    assert subprocess.run(exe + ["remove", "alder"], capture_output=True, env=env).returncode == 0
    assert users.load_users(tmp_path / "auth" / "users.json") == {}
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "academies.csv").write_text(
        "urn,name,la_code,phase,has_sixth_form,joined_trust\n100001,Alder,352,secondary,Y,2015-09-01\n")
    r = subprocess.run(exe + ["demo"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    pw = {ln.split()[0]: ln.split("password: ")[1].split()[0] for ln in r.stdout.splitlines()
          if "password: " in ln}
    assert set(pw) == {"admin", "director", "academy-100001"}
    assert users.authenticate("academy-100001", pw["academy-100001"],
                              tmp_path / "auth" / "users.json").urns == ("100001",)
