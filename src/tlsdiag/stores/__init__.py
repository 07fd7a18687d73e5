"""Certificate-store analysis: read store exports offline, model logical stores, run checks.

Public API (used by ``tlsdiag stores`` and by the scan pipeline):

    load_stores(inputs) -> list[StoreSnapshot]      # paths or InputFile objects
    run_checks(snapshot, reference_time=None) -> list[Finding]
    analyse_stores(paths, at=None) -> (list[StoreReport], list[StoreLoss])   # both, as `tlsdiag stores` does
    Finding.to_dict(); CHECKS (check id -> (title, knowledge-base cause id))
"""

from tlsdiag.stores.checks import CHECKS, CertRef, Finding, FixStep, IssuerList, issuer_list, run_checks
from tlsdiag.stores.load import load_stores
from tlsdiag.stores.model import StoreCert, StoreSnapshot

__all__ = ["CHECKS", "CertRef", "Finding", "FixStep", "IssuerList", "StoreCert", "StoreSnapshot", "issuer_list",
           "load_stores", "run_checks"]
