"""The stand-in EcoTaxa server keeps the back-end's quirks the client must live with
(../shared/ecotaxa-api-facts.md); if it did not, the other tests could pass against a kinder
server than the real one."""

from __future__ import annotations

import pytest
from conftest import AQQUA, BOB, ME, PASSWORD

from aqqua_packer.ecotaxa.client import Client, EcoTaxaError, SessionExpired


@pytest.fixture
def alice(ecotaxa):
    c = Client(ecotaxa.url)
    c.login("ALICE@lab.org", PASSWORD)  # the e-mail is case-insensitive
    return c


def test_put_replaces_the_whole_project(ecotaxa, alice):
    p = alice.project(101, for_managing=True)
    slim = {k: p[k] for k in ("projid", "title", "access", "instrument", "contact", "managers")}
    alice.update_project(101, slim)
    after = alice.project(101, for_managing=True)
    assert after["comments"] is None and after["formulae"] is None
    assert after["init_classif_list"] == [] and after["annotators"] == []


def test_one_user_in_two_lists_is_a_500_and_nothing_is_saved(ecotaxa, alice):
    p = alice.project(102, for_managing=True)
    p["annotators"] = list(p["viewers"])  # AqQua already views it
    with pytest.raises(EcoTaxaError) as exc:
        alice.update_project(102, p)
    assert exc.value.status == 500 and "BACK-END" in exc.value.detail
    assert ecotaxa.state.privileges[102] == {ME: "Manage", AQQUA: "View"}


def test_a_contact_outside_the_managers_is_a_422(ecotaxa, alice):
    p = alice.project(101, for_managing=True)
    p["managers"] = [u for u in p["managers"] if u["id"] != BOB]
    with pytest.raises(EcoTaxaError) as exc:
        alice.update_project(101, p)
    assert exc.value.status == 422 and "designated user is not in Managers list" in str(exc.value)


def test_a_bad_token_is_anonymous_on_listings_and_401_elsewhere(ecotaxa):
    c = Client(ecotaxa.url, token="forged")
    [public] = c.call("GET", "/projects/search")  # only the public project, without members
    assert public["projid"] == 102 and public["managers"] == [] and public["contact"] is None
    with pytest.raises(SessionExpired):
        c.call("GET", "/users/me")


def test_jobs_need_the_trailing_slash_and_the_file_waits_for_the_end(ecotaxa, alice):
    job = alice.start_export(104)
    with pytest.raises(EcoTaxaError) as exc:
        alice.call("GET", f"/jobs/{job}")
    assert exc.value.status == 405
    with pytest.raises(EcoTaxaError) as exc:
        alice.open_job_file(job)
    assert exc.value.status == 500
    assert alice.job(job)["state"] == "R"
    assert alice.job(job)["state"] == "F"
    with alice.open_job_file(job, 10) as resp:
        assert resp.status == 206 and resp.read() == ecotaxa.state.export_zips[104][10:]


def test_users_are_found_by_name_only(ecotaxa, alice):
    assert alice.search_users("%aqqua@geomar%") == []
    assert {u["email"] for u in alice.search_users("%aqqua%")} == {
        "aqqua@geomar.de",
        "aqqua-fan@else.org",
    }
    assert alice.find_user("aqqua@geomar.de")["id"] == AQQUA
