"""EcoTaxa projects: list them, share them with AqQua (and take the access back), or export one
and pack it like any other source.  Built against the EcoTaxa back-end's API as described in
../shared/ecotaxa-api-facts.md; Qt-free, so the CLI and the wizard share it."""

from .client import AQQUA_EMAIL, DEFAULT_SERVER, Client, EcoTaxaError, SessionExpired

__all__ = ["AQQUA_EMAIL", "DEFAULT_SERVER", "Client", "EcoTaxaError", "SessionExpired"]
