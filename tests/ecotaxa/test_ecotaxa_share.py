"""`aqqua-packer ecotaxa projects / share / unshare` against the stand-in EcoTaxa server
(tests/ecotaxa/ecotaxa_server.py, which lists the API facts it implements)."""

from __future__ import annotations

import copy
import csv
import json

from conftest import AQQUA, BOB, CAROL, ME, PASSWORD

from aqqua_packer.cli import main


def run(capsys, *argv):
    code = main(["ecotaxa", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def snapshot(srv):
    st = srv.state
    return copy.deepcopy((st.projects, st.privileges, st.contacts))


def test_projects_lists_rights_contact_and_whether_aqqua_sees_each(
    ecotaxa, alice_env, capsys, tmp_path
):
    code, out, _ = run(
        capsys, "projects", "--server", ecotaxa.url, "--json", "--csv", str(tmp_path / "p.csv")
    )
    assert code == 0
    rows = {r["id"]: r for r in json.loads(out)}
    assert sorted(rows) == [101, 102, 103, 104]
    assert rows[101]["your_right"] == "Manage" and rows[101]["contact"] == "Bob Stone <bob@lab.org>"
    assert rows[103]["your_right"] == "Annotate"
    assert rows[102]["aqqua_can_see"] == "yes (View)" and rows[101]["aqqua_can_see"] == "no"
    assert rows[102]["access"] == "public" and rows[102]["instrument"] == "UVP6"
    assert rows[104]["objects"] == 5 and rows[104]["validated_pct"] == 40.0
    with open(tmp_path / "p.csv", encoding="utf-8") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ["101", "102", "103", "104"]


def test_share_dry_run_says_what_would_change_and_changes_nothing(ecotaxa, alice_env, capsys):
    before = snapshot(ecotaxa)
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "101", "102", "--dry-run")
    assert code == 0
    assert (
        "project 101 “Zooscan Bay of Biscay 2019”: AqQua Data Team <aqqua@geomar.de> would be added"
        in out
    )
    assert "project 102" in out and "can already see it (View); nothing to do" in out
    assert "Nothing was changed (dry run). 1 project(s) would change." in out
    assert snapshot(ecotaxa) == before
    assert ecotaxa.changing_requests() == []


def test_share_adds_exactly_the_viewer_and_keeps_everything_else(ecotaxa, alice_env, capsys):
    before = snapshot(ecotaxa)
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "101")
    assert code == 0, out
    assert "1 project(s) changed and checked." in out
    projects, privileges, contacts = snapshot(ecotaxa)
    want = copy.deepcopy(before[1])
    want[101][AQQUA] = "View"
    assert privileges == want  # exactly one row more: AqQua as a viewer
    assert contacts == before[2]  # Bob is still the contact ...
    assert privileges[101][BOB] == "Manage"  # ... and still a manager
    p_before, p_after = before[0][101], projects[101]
    changed = {k for k in p_before if p_before[k] != p_after.get(k)}
    assert changed == {"bodc_variables"}  # EcoTaxa adds the unsent keys as null (facts: PUT)
    assert {k: v for k, v in p_after["bodc_variables"].items() if v} == p_before["bodc_variables"]
    assert projects[103] == before[0][103] and privileges[103] == before[1][103]
    assert [m for m, p in ecotaxa.changing_requests()] == ["PUT"]


def test_share_twice_sends_no_changing_request_the_second_time(ecotaxa, alice_env, capsys):
    assert run(capsys, "share", "--server", ecotaxa.url, "--all-managed")[0] == 0
    first = len(ecotaxa.changing_requests())
    assert first == 2  # 101 and 104; 102 already shared
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "--all-managed")
    assert code == 0
    assert len(ecotaxa.changing_requests()) == first
    assert out.count("can already see it (View); nothing to do") == 3
    assert "0 project(s) changed" in out


def test_unshare_removes_only_the_viewer(ecotaxa, alice_env, capsys):
    run(capsys, "share", "--server", ecotaxa.url, "101", "104")
    before = snapshot(ecotaxa)
    code, out, _ = run(capsys, "unshare", "--server", ecotaxa.url, "--all-shared")
    assert code == 0, out
    assert "3 project(s) changed and checked." in out
    _, privileges, contacts = snapshot(ecotaxa)
    want = copy.deepcopy(before[1])
    for pid in (101, 102, 104):
        del want[pid][AQQUA]
    assert privileges == want and contacts == before[2]
    code, out, _ = run(capsys, "unshare", "--server", ecotaxa.url, "--all-shared")
    assert code == 0 and "0 project(s) changed" in out


def test_a_project_the_user_only_annotates_is_refused_and_its_managers_named(
    ecotaxa, alice_env, capsys
):
    before = snapshot(ecotaxa)
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "103", "104")
    assert code == 1  # not everything could be done
    assert (
        "project 103 “IFCB Kiel Fjord”: you have Annotate rights only, and sharing needs Manage; "
        "nothing changed. Ask its managers: Bob Stone <bob@lab.org>"
    ) in out
    assert (
        AQQUA not in ecotaxa.state.privileges[103]
        and ecotaxa.state.privileges[103] == before[1][103]
    )
    assert ecotaxa.state.privileges[104][AQQUA] == "View"  # the other project was still shared


def test_the_contact_never_loses_manage(ecotaxa, alice_env, capsys):
    """Bob is contact of 101; sharing and unsharing keep him manager and contact.  The stand-in
    answers 422 for a contact outside the managers, so a client that dropped him would fail."""
    run(capsys, "share", "--server", ecotaxa.url, "101")
    run(capsys, "unshare", "--server", ecotaxa.url, "101")
    st = ecotaxa.state
    assert st.contacts[101] == BOB and st.privileges[101][BOB] == "Manage"
    assert st.privileges[101] == {ME: "Manage", BOB: "Manage", CAROL: "Annotate"}


def test_a_token_that_expires_mid_run_is_renewed_and_the_run_finishes(
    ecotaxa, alice_env, capsys, memory_keyring
):
    ecotaxa.state.token_uses = 4  # the first token dies after four requests
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "101", "104")
    assert code == 0, out
    assert "2 project(s) changed and checked." in out
    logins = [p for m, p in ecotaxa.state.requests if p == "/login"]
    assert len(logins) >= 2
    kept = [v for (s, u), v in memory_keyring.store.items() if "token" in s]
    assert kept and kept[0] in ecotaxa.state.tokens  # the fresh token is kept, not the dead one
    assert all(PASSWORD not in v for v in memory_keyring.store.values())


def test_an_expired_token_without_a_password_stops_with_one_line(
    ecotaxa, alice_env, capsys, monkeypatch
):
    assert run(capsys, "projects", "--server", ecotaxa.url)[0] == 0  # logs in, keeps the token
    monkeypatch.delenv("AQQUA_ECOTAXA_PASSWORD")
    ecotaxa.state.tokens.clear()  # the kept token expires
    code, out, err = run(capsys, "share", "--server", ecotaxa.url, "101")
    assert code == 2
    assert err.strip().count("\n") == 0 and "no EcoTaxa password for alice@lab.org" in err
    assert ecotaxa.changing_requests() == []


def test_the_kept_token_is_used_without_asking_for_the_password(
    ecotaxa, alice_env, capsys, monkeypatch
):
    assert run(capsys, "projects", "--server", ecotaxa.url)[0] == 0
    monkeypatch.delenv("AQQUA_ECOTAXA_PASSWORD")
    code, out, err = run(capsys, "projects", "--server", ecotaxa.url)
    assert code == 0 and "Zooscan Bay of Biscay 2019" in out
    assert [p for m, p in ecotaxa.state.requests].count("/login") == 1


def test_wrong_password_gives_one_line(ecotaxa, capsys, monkeypatch):
    monkeypatch.setenv("AQQUA_ECOTAXA_PASSWORD", "not-it")
    code, out, err = run(capsys, "projects", "--server", ecotaxa.url, "--user", "alice@lab.org")
    assert code == 2
    assert (
        err
        == f"aqqua-packer: EcoTaxa did not accept the e-mail or password for alice@lab.org at {ecotaxa.url}\n"
    )
    assert "not-it" not in out + err


def test_missing_project_and_unreachable_server_give_one_line(ecotaxa, alice_env, capsys):
    code, out, _ = run(capsys, "share", "--server", ecotaxa.url, "999")
    assert code == 1 and f"project 999: project 999 does not exist on {ecotaxa.url}" in out
    code, _, err = run(capsys, "projects", "--server", "http://127.0.0.1:9/api")
    assert code == 2 and err.startswith(
        "aqqua-packer: cannot reach the EcoTaxa server at http://127.0.0.1:9/api"
    )
    assert err.count("\n") == 1


def test_a_project_that_reads_back_different_stops_the_run(ecotaxa, alice_env, capsys):
    """A colleague makes Carol a manager of 101 while we write: the read-back differs beyond the
    viewer list, so the run stops there and 104 is not touched."""

    def colleague(st, pid):
        if pid == 101:
            st.privileges[101][CAROL] = "Manage"

    ecotaxa.state.after_put = colleague
    code, out, err = run(capsys, "share", "--server", ecotaxa.url, "101", "104")
    assert code == 2
    assert "STOPPED: project 101 “Zooscan Bay of Biscay 2019” reads back different" in err
    assert "managers should be [1, 2] but are [1, 2, 3]" in err
    assert AQQUA not in ecotaxa.state.privileges[104]
    assert [p for m, p in ecotaxa.changing_requests()] == ["/projects/101"]


def test_a_write_ecotaxa_fails_stops_the_run_and_names_the_project(ecotaxa, alice_env, capsys):
    """Carol's account is deleted while we write 101: EcoTaxa fails with a 500 and saves nothing
    (an unknown user id, facts: PUT /projects); the run stops there and 104 is not touched."""
    before = snapshot(ecotaxa)
    ecotaxa.state.before_put = lambda st, pid: st.users.pop(CAROL, None)
    code, out, err = run(capsys, "share", "--server", ecotaxa.url, "101", "104")
    assert code == 2
    last = err.splitlines()[-1]  # after the progress line
    assert last.startswith("aqqua-packer: STOPPED: project 101: the EcoTaxa server failed (500)")
    assert "EcoTaxa kept the project as it was" in last
    assert snapshot(ecotaxa)[1] == before[1]
    assert [p for m, p in ecotaxa.changing_requests()] == ["/projects/101"]
