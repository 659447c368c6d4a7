"""France Travail partner API client against the in-process fake (real HTTP on loopback)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from gateway.errors import FatalError, RetriableError
from gateway.mapping import MappingCatalog, translate_stream
from gateway.model.validation import get_validator
from gateway.transports.france_travail import (
    AgentIdentity,
    FranceTravailClient,
    FranceTravailConfig,
    IdentityQuery,
    ResolutionOutcome,
)
from tests.peers.france_travail_fake import FranceTravailFake, Usager

NIR = "2850275123456"  # synthetic
BIRTH = "1985-02-14"
FT_ID = "1234567A"


@pytest.fixture
def fake(domain_data: Path) -> Iterator[FranceTravailFake]:
    server = FranceTravailFake(
        diagnostic_file=domain_data
        / "carnet-de-bord"
        / "france-travail"
        / "diagnosticargumente-dossier-individu.sample.json",
        usagers=[Usager(NIR, BIRTH, FT_ID)],
        ambiguous_nirs={"1900175111222"},
        forbidden_nirs={"1770175333444"},
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def catalog(project_root: Path) -> MappingCatalog:
    return MappingCatalog(project_root / "mappings")


@pytest.fixture
def client(fake: FranceTravailFake, catalog: MappingCatalog) -> Iterator[FranceTravailClient]:
    config = FranceTravailConfig(
        base_url=fake.base_url,
        token_url=fake.token_url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        agent=AgentIdentity("BATCH-GW", "Passerelle", "Batch"),
        timeout=5,
    )
    ft = FranceTravailClient(config, catalog=catalog)
    yield ft
    ft.close()


def test_full_flow_resolve_then_diagnostic_gives_canonical_diagnostics(
    client: FranceTravailClient, fake: FranceTravailFake
) -> None:
    resolution = client.resolve(IdentityQuery(nir=NIR, birth_date=BIRTH, france_travail_id=FT_ID))
    assert resolution.outcome is ResolutionOutcome.FOUND and resolution.certified is True
    assert resolution.handle is not None

    bundles = client.diagnostic(resolution.handle)

    [bundle] = bundles
    assert get_validator().validate(bundle) == []
    resources = [entry["resource"] for entry in bundle["entry"]]
    diagnostics = [r for r in resources if r["resourceType"] == "Diagnostic"]
    [person] = [r for r in resources if r["resourceType"] == "Person"]
    assert person["identifier"] == [{"system": "urn:fr:francetravail:identifiant", "value": FT_ID}]
    assert any(d.get("constraint") for d in diagnostics) and any(d.get("need") for d in diagnostics)
    assert all(d["person"] == {"reference": f"Person/{person['id']}"} for d in diagnostics)
    jeton = next(iter(fake.jetons))
    assert jeton not in json.dumps(bundles)
    assert jeton not in repr(resolution)


def test_resolution_by_france_travail_number(client: FranceTravailClient, fake: FranceTravailFake) -> None:
    resolution = client.resolve(IdentityQuery(france_travail_id=FT_ID))
    assert resolution.outcome is ResolutionOutcome.FOUND
    assert fake.calls[-1] == ("POST", "/rechercher-usager/v2/usagers/par-numero-francetravail", 200)


def test_not_found_and_ambiguous_are_outcomes_not_errors(client: FranceTravailClient) -> None:
    missing = client.resolve(IdentityQuery(nir="1991299000111", birth_date="1999-12-01"))
    several = client.resolve(IdentityQuery(nir="1900175111222", birth_date="1990-01-01"))
    assert (missing.outcome, missing.code, missing.handle) == (ResolutionOutcome.NOT_FOUND, "S002", None)
    assert (several.outcome, several.code, several.handle) == (ResolutionOutcome.AMBIGUOUS, "S003", None)


def test_r001_is_fatal_and_names_no_person(client: FranceTravailClient) -> None:
    with pytest.raises(FatalError) as caught:
        client.resolve(IdentityQuery(nir="1770175333444", birth_date="1977-01-01"))
    assert "R001" in str(caught.value)
    assert "1770175333444" not in str(caught.value) and "1977" not in str(caught.value)


def test_unavailable_and_rate_limited_are_retriable(
    client: FranceTravailClient, fake: FranceTravailFake
) -> None:
    for status in (503, 429):
        fake.fail_status = status
        with pytest.raises(RetriableError, match=str(status)):
            client.resolve(IdentityQuery(nir=NIR, birth_date=BIRTH))


def test_token_is_cached_across_calls_and_refreshed_once_on_401(
    client: FranceTravailClient, fake: FranceTravailFake
) -> None:
    handle = client.resolve(IdentityQuery(nir=NIR, birth_date=BIRTH, france_travail_id=FT_ID)).handle
    assert handle is not None
    client.diagnostic(handle)
    client.diagnostic(handle)
    client.resolve(IdentityQuery(nir="1991299000111", birth_date="1999-12-01"))
    assert fake.tokens_issued == 2  # one per API scope set (rechercher-usager, diagnostic), reused after

    fake.revoke_tokens()
    client.diagnostic(handle)

    assert fake.tokens_issued == 3
    assert [status for _, path, status in fake.calls if path.startswith("/diagnostic")][-2:] == [401, 200]


def test_jeton_is_reused_from_the_cache_for_the_same_person(
    client: FranceTravailClient, fake: FranceTravailFake
) -> None:
    query = IdentityQuery(nir=NIR, birth_date=BIRTH)
    client.resolve(query)
    client.resolve(query)
    assert len(fake.jetons) == 1
    client.forget(query)
    client.resolve(query)
    assert len(fake.jetons) == 2


def test_jeton_never_appears_in_logs(
    client: FranceTravailClient, fake: FranceTravailFake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # configure_logging (run by earlier tests, e.g. the CLI's at "warning") filters info events out and
    # quiets httpx: log everything here, httpx's request lines included, so that all of it is checked.
    for noisy in ("httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=noisy)
    previous = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with structlog.testing.capture_logs() as events:
            handle = client.resolve(IdentityQuery(nir=NIR, birth_date=BIRTH, france_travail_id=FT_ID)).handle
            assert handle is not None
            fake.revoke_tokens()
            client.diagnostic(handle)
    finally:
        structlog.configure(**previous)
    [jeton] = fake.jetons
    logged = json.dumps(events, default=str) + caplog.text
    assert events and caplog.records  # something was logged, so the check below is meaningful
    for secret in (jeton, NIR, BIRTH, "Passerelle", *fake.tokens):
        assert secret not in logged


def test_rendez_vous_round_trip_through_the_ft_mapping(
    client: FranceTravailClient, fake: FranceTravailFake, catalog: MappingCatalog, project_root: Path
) -> None:
    sample = (project_root / "tests" / "fixtures" / "mapping" / "ft-rdv-partenaire.sample.json").read_bytes()
    mapping = catalog.get("france-travail-rdv-partenaire-api")
    [bundle] = list(translate_stream(io.BytesIO(sample), mapping))
    assert isinstance(bundle, dict)
    handle = client.resolve(IdentityQuery(france_travail_id=FT_ID)).handle
    assert handle is not None

    [answer] = client.send_rendez_vous(handle, bundle)

    assert fake.calls[-1] == ("POST", "/rendez-vous-partenaire/v1/rendez-vous", 201)
    types = sorted(entry["resource"]["resourceType"] for entry in answer["entry"])
    assert "Appointment" in types and get_validator().validate(answer) == []
    assert next(iter(fake.jetons)) not in json.dumps(answer)


def test_missing_scope_is_fatal(fake: FranceTravailFake, catalog: MappingCatalog) -> None:
    config = FranceTravailConfig(
        base_url=fake.base_url,
        token_url=fake.token_url,
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        agent=AgentIdentity("BATCH-GW", "Passerelle", "Batch"),
        scopes={"rechercher_usager": "profil_accedant"},
    )
    ft = FranceTravailClient(config, catalog=catalog)
    with pytest.raises(FatalError, match="403"):
        ft.resolve(IdentityQuery(nir=NIR, birth_date=BIRTH))
    ft.close()
