"""The invoice print view in headless Chromium at A4 (794 x 1123 CSS px), English and French:
it fits the page, its Print button prints, print media hides the button, and the screenshots
land in ``screenshots/print-view-<lang>.png``."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.api.documents import invoice_html
from tests import invoice_samples as samples
from tests.browser.conftest import SCREENSHOTS

A4 = {"width": 794, "height": 1123}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_print_view_at_a4(browser: Any, lang: str) -> None:
    invoice = samples.issue(samples.german_business())
    context = browser.new_context(viewport=A4, locale=lang)
    page = context.new_page()
    try:
        page.set_content(invoice_html(invoice, lang))
        page.evaluate(
            "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"
        )
        button = page.get_by_role("button", name="Imprimer" if lang == "fr" else "Print")
        button.click()
        assert page.evaluate("window.__printed") == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= A4["width"] + 40
        for text in ("RCS Paris 999 999 998", "FR11999999998", "DE136695976"):
            assert page.get_by_text(text, exact=False).count() >= 1, text
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"print-view-{lang}.png"), full_page=True)
        page.emulate_media(media="print")
        assert not button.is_visible()
        page.screenshot(path=str(SCREENSHOTS / f"print-view-{lang}-print.png"), full_page=True)
    finally:
        context.close()
