"""The invoice as a Factur-X PDF: PDF/A-3B (fpdf2's ``enforce_compliance``) with its EN 16931
CII XML embedded as ``factur-x.xml`` (``embed_file``, relationship ``Alternative``, listed in
the catalogue's ``/AF``) and the Factur-X XMP properties (``fx:`` schema with its PDF/A
extension-schema description, as the Factur-X 1.0 specification ships it).

Every glyph comes from DejaVu Sans (``fonts/``, Bitstream Vera licence, from Debian's
fonts-dejavu-core 2.37), embedded and subset by fpdf2, so Polish, Greek, Cyrillic and "€"
print as they are (PDF/A forbids the unembedded core fonts anyway).  fpdf2 adds the sRGB
output intent PDF/A needs.  Imported on the PDF path only.
"""

from __future__ import annotations

from datetime import UTC
from html import escape
from pathlib import Path

from chalicelib.documents import content
from chalicelib.domain.billing import Invoice
from chalicelib.i18n import translate

FONTS = Path(__file__).parent / "fonts"
FONT = "DejaVu"
FACTURX_FILENAME = "factur-x.xml"
FACTURX_LEVEL = "EN 16931"

_FX_EXTENSION = """
    <rdf:Description rdf:about=""
        xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
        xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
        xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
      <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
        <pdfaSchema:schema>Factur-X PDFA Extension Schema</pdfaSchema:schema>
        <pdfaSchema:namespaceURI>urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#</pdfaSchema:namespaceURI>
        <pdfaSchema:prefix>fx</pdfaSchema:prefix>
        <pdfaSchema:property><rdf:Seq>
          <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentFileName</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>name of the embedded XML invoice file</pdfaProperty:description></rdf:li>
          <rdf:li rdf:parseType="Resource"><pdfaProperty:name>DocumentType</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>INVOICE</pdfaProperty:description></rdf:li>
          <rdf:li rdf:parseType="Resource"><pdfaProperty:name>Version</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The actual version of the Factur-X XML schema</pdfaProperty:description></rdf:li>
          <rdf:li rdf:parseType="Resource"><pdfaProperty:name>ConformanceLevel</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>The conformance level of the embedded Factur-X data</pdfaProperty:description></rdf:li>
        </rdf:Seq></pdfaSchema:property>
      </rdf:li></rdf:Bag></pdfaExtension:schemas>
    </rdf:Description>"""  # noqa: E501 - the specification's text, kept as one block


def xmp_metadata(title: str, created: str, document_type: str = "INVOICE") -> str:
    """PDF/A-3B identification, Dublin Core title and the Factur-X properties."""
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">
      <pdfaid:part>3</pdfaid:part>
      <pdfaid:conformance>B</pdfaid:conformance>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
      <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{escape(title)}</rdf:li></rdf:Alt></dc:title>
    </rdf:Description>
    <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
        xmp:CreatorTool="HelpDesk Accounts" xmp:CreateDate="{created}"
        xmp:ModifyDate="{created}" xmp:MetadataDate="{created}"/>
    <rdf:Description rdf:about="" xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
        pdf:Producer="fpdf2"/>
    <rdf:Description rdf:about=""
        xmlns:fx="urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#">
      <fx:DocumentType>{document_type}</fx:DocumentType>
      <fx:DocumentFileName>{FACTURX_FILENAME}</fx:DocumentFileName>
      <fx:Version>1.0</fx:Version>
      <fx:ConformanceLevel>{FACTURX_LEVEL}</fx:ConformanceLevel>
    </rdf:Description>{_FX_EXTENSION}
  </rdf:RDF>
</x:xmpmeta>"""


def invoice_pdf(  # noqa: PLR0915 - one page drawn top to bottom
    invoice: Invoice, locale: str, xml: bytes, kind: content.Heading = content.INVOICE
) -> bytes:
    """The PDF/A-3B of ``invoice`` in ``locale`` with ``xml`` embedded as factur-x.xml
    (``kind``: a credit note's title, reason and credited invoice)."""
    from fpdf import FPDF

    title = f"{translate(kind.title_key, locale)} {invoice.number}"
    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_lang(locale)
    pdf.set_creator("HelpDesk Accounts")
    created = invoice.issued_at.astimezone(UTC)
    pdf.set_creation_date(created)
    pdf.set_xmp_metadata(xmp_metadata(title, created.isoformat(timespec="seconds")))
    pdf.embed_file(
        bytes=xml,
        basename=FACTURX_FILENAME,
        mime_type="text/xml",
        associated_file_relationship="Alternative",
        desc="Factur-X invoice (EN 16931)",
        modification_date=created,
    )
    pdf.add_page()
    width = pdf.epw

    pdf.set_font(FONT, "B", 18)
    pdf.cell(0, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 9)
    for name, value in content.meta_pairs(invoice, locale, kind):
        pdf.cell(0, 5, f"{name} {value}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    top = pdf.get_y()
    column = (width - 8) / 2
    bottom = top
    for index, (heading, lines) in enumerate(
        (
            (translate("doc.seller", locale), content.seller_lines(invoice, locale)),
            (translate("doc.customer", locale), content.party_lines(invoice.customer, locale)),
        )
    ):
        pdf.set_xy(pdf.l_margin + index * (column + 8), top)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(column, 6, heading, new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        pdf.multi_cell(column, 4.6, "\n".join(lines), new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 6)

    widths = (width - 95, 15, 40, 40)
    pdf.set_font(FONT, "B", 9)
    for w, key in zip(
        widths, ("doc.description", "doc.quantity", "doc.unit_amount", "doc.amount"), strict=True
    ):
        pdf.cell(w, 7, translate(key, locale), border="B", align="L" if w == widths[0] else "R")
    pdf.ln()
    pdf.set_font(FONT, "", 9)
    for line in content.lines(invoice, locale):
        pdf.cell(widths[0], 7, line.description)
        pdf.cell(widths[1], 7, str(line.quantity), align="R")
        pdf.cell(widths[2], 7, line.unit_amount, align="R")
        pdf.cell(widths[3], 7, line.amount, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    for name, amount, grand in content.totals(invoice, locale):
        pdf.set_font(FONT, "B" if grand else "", 10 if grand else 9)
        pdf.cell(sum(widths[:3]), 7, name, align="R", border="T" if grand else 0)
        pdf.cell(
            widths[3], 7, amount, align="R", border="T" if grand else 0,
            new_x="LMARGIN", new_y="NEXT",
        )  # fmt: skip

    notices = content.legal_notices(invoice, locale)
    if notices:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 10)
        pdf.cell(0, 6, translate("doc.notices", locale), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 8.5)
        for text in notices:
            pdf.multi_cell(0, 4.4, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)

    if not kind.transactions:
        return bytes(pdf.output())
    pdf.ln(3)
    pdf.set_font(FONT, "B", 10)
    pdf.cell(0, 7, translate("doc.transactions", locale), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 8.5)
    rows = content.transaction_rows(invoice, locale)
    if not rows:
        pdf.cell(0, 6, translate("doc.no_transactions", locale), new_x="LMARGIN", new_y="NEXT")
    for when, card, amount, result in rows:
        pdf.multi_cell(
            0, 4.6, f"{when}    {card}    {amount}    {result}", new_x="LMARGIN", new_y="NEXT"
        )
    return bytes(pdf.output())
