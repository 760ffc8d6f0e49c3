import re
import zlib
from decimal import Decimal

from django.urls import reverse

from careportal.audit.models import AuditEvent
from careportal.billing.pdf import latin1
from careportal.builders import make_invoice


def _pdf_text(content: bytes) -> str:
    """Return the text drawn on the PDF's pages (fpdf2 compresses each page's stream)."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(text)


def test_it_downloads_the_same_invoice_as_a_pdf(client, cast):
    cast.sunrise.payment_instructions = "Checks payable to Sunrise Home Care."
    cast.sunrise.save()
    invoice = make_invoice(
        cast.margaret, lines=2, caregiver=cast.caregiver, paid=Decimal("50.00"), number="INV 9"
    )
    client.force_login(cast.ellen)

    response = client.get(reverse("billing:invoice_pdf", args=[invoice.number]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-INV-9.pdf"'
    assert "no-store" in response["Cache-Control"]
    assert response.content.startswith(b"%PDF-")
    text = _pdf_text(response.content)
    for expected in (
        "Sunrise Home Care",
        "Invoice INV 9",
        "Margaret Hale",
        "Carla",
        "$155.00",
        "$105.00",
        "Partially paid",
        "Checks payable to Sunrise Home Care.",
    ):
        assert expected in text, expected
    event = AuditEvent.objects.get(action="invoice.pdf_downloaded")
    assert event.actor == cast.ellen
    assert event.client_id == cast.margaret.pk


def test_it_draws_names_beyond_latin1_without_failing(client, cast):
    cast.margaret.last_name = "Hałas"
    cast.margaret.save()
    cast.sunrise.currency = "EUR"
    cast.sunrise.save()
    invoice = make_invoice(cast.margaret, number="INV-EUR")
    client.force_login(cast.margaret.user)

    response = client.get(reverse("billing:invoice_pdf", args=[invoice.number]))

    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert "Margaret Halas" in text
    assert "EUR 77.50" in text


def test_it_transliterates_only_what_latin1_lacks():
    assert latin1("José Muñoz – “Ñandú” €5") == 'José Muñoz - "Ñandú" EUR 5'
    assert latin1("Łódź Œuvre 東") == "Lódz OEuvre ?"


def test_it_wraps_a_long_service_within_its_column(client, cast):
    invoice = make_invoice(cast.margaret, number="INV-LONG")
    invoice.lines.update(
        service="Personal care with bathing, dressing and a walk to the park and back again"
    )
    client.force_login(cast.margaret.user)

    response = client.get(reverse("billing:invoice_pdf", args=[invoice.number]))

    text = _pdf_text(response.content)
    # The words are all drawn, over more than one line of the column.
    assert "Personal care with" in text
    assert "back again" in text
    assert "Personal care with bathing, dressing and a walk to the park and back again" not in text


def test_it_cuts_a_word_wider_than_its_column():
    from fpdf import FPDF

    from careportal.billing.pdf import FONT, _wrap

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font(FONT, size=10)
    word = "Supercalifragilisticexpialidocious" * 3

    lines = _wrap(pdf, f"Short {word} end", 40)

    assert lines[0] == "Short"
    assert len(lines) > 3
    # Nothing is lost: the pieces put back together are the text without its spaces.
    assert "".join(lines).replace(" ", "") == f"Short{word}end"
    assert all(pdf.get_string_width(line) <= 40 for line in lines)


def test_it_measures_text_as_fpdf_does():
    from fpdf import FPDF

    from careportal.billing.pdf import FONT, _width

    pdf = FPDF()
    pdf.add_page()
    for style, size in (("", 10), ("B", 11), ("", 18)):
        pdf.set_font(FONT, style=style, size=size)
        for text in ("Personal care", "$1,234.50", latin1("Hałas – Ñandú"), ""):
            assert abs(_width(pdf, text) - pdf.get_string_width(text)) < 1e-9, (style, text)


def test_it_draws_text_where_a_cell_would():
    from fpdf import FPDF

    from careportal.billing.pdf import FONT, LINE_HEIGHT, _draw

    def page_text(draw) -> list[str]:
        pdf = FPDF()
        pdf.add_page()
        pdf.set_font(FONT, size=10)
        draw(pdf)
        return [op for op in pdf.pages[1].contents.decode("latin-1").split("\n") if "Tj" in op]

    for align in ("L", "R"):
        by_cell = page_text(
            lambda pdf, align=align: (
                pdf.set_xy(30, 40),
                pdf.cell(50, LINE_HEIGHT, "$77.50", align=align),
            )
        )
        by_draw = page_text(lambda pdf, align=align: _draw(pdf, 30, 40, 50, "$77.50", align))
        # The same text at the same place, to the hundredth of a point.
        position = re.compile(r"BT ([\d.]+) ([\d.]+) Td.*\((.*)\) Tj")
        assert position.search(by_cell[0]).groups() == position.search(by_draw[0]).groups()
