"""The synthetic banner follows the actual mix of patients: all, some or none synthetic."""

from __future__ import annotations

from blinareg.derive import derive
from blinareg.records import Registry
from blinareg.records.models import Center
from blinareg.report import ReportConfig, build_report
from blinareg.report.render import synthetic_banner
from tests.records.factories import consistent_records


def _meta(centers_synthetic: dict[str, bool]):
    records = []
    for record in consistent_records():
        if isinstance(record, Center):
            records += [
                Center(center_id=c, name=f"Center {c}", synthetic=flag) for c, flag in centers_synthetic.items()
            ]
        elif getattr(record, "center_id", None) == "C1" and record.patient_id == "P2":
            records.append(type(record).model_validate({**dict(record), "center_id": list(centers_synthetic)[-1]}))
        else:
            records.append(record)
    return build_report(derive(Registry.from_records(records)), ReportConfig(sections=["cohort"])).typed.meta


def test_all_some_none():
    # P1 in C1, P2 in the last center.
    every = _meta({"C1": True})
    assert every.synthetic_patients == 2 and synthetic_banner(every).startswith("Synthetic data:")
    some = _meta({"C1": True, "C2": False})
    assert synthetic_banner(some) == (
        "Mixed data: 1 of the 2 patients are synthetic (generated, not real patients); "
        "the results mix synthetic and real patients."
    )
    none = _meta({"C1": False})
    assert none.synthetic_patients == 0 and synthetic_banner(none) is None
