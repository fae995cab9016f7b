"""The new words of a reply: what the author wrote, without the history they quoted or their signature.

Staff read this in ``inboxd explain`` and the case history, and commitments are only looked for here:
a promise quoted from an earlier message must not count again.
"""

from __future__ import annotations

import pytest

from inboxd.mail.reply import reply_text

NEW = "Thanks, that fixed it.\nThe invoice arrived."


@pytest.mark.parametrize(
    "rest",
    [
        pytest.param("\n> Please find the invoice attached.\n> Support", id="> quotes"),
        pytest.param("\n>> nested\n> quote", id="nested quotes"),
        pytest.param("\nOn Mon, 23 Nov 2026 at 10:00, Support <support@example.com> wrote:\n> old text",
                     id="On ... wrote: (one line)"),
        pytest.param("\nOn Mon, 23 Nov 2026 at 10:00, Example Support\n<support@example.com> wrote:\n> old text",
                     id="On ... wrote: (two lines)"),
        pytest.param("\nOn 23.11.2026 10:00, Support wrote:\nold text without quote marks", id="unquoted history"),
        pytest.param("\nAm 23.11.2026 um 10:00 schrieb Support <support@example.com>:\n> alter Text",
                     id="Am ... schrieb ...: (one line)"),
        pytest.param("\nAm Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Example Support <\nsupport@example.com>:\n> alt",
                     id="Am ... schrieb ...: (two lines, Gmail)"),
        pytest.param("\nLe lun. 23 nov. 2026 à 10:00, Support <support@example.com> a écrit :\n> ancien",
                     id="Le ... a écrit :"),
        pytest.param("\n-----Original Message-----\nFrom: Support\nSent: Monday, November 23, 2026 10:00 AM\n"
                     "To: Ann\nSubject: RE: Invoice\n\nold text", id="-----Original Message-----"),
        pytest.param("\n-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Montag\n\nalter Text",
                     id="-----Ursprüngliche Nachricht-----"),
        pytest.param("\nFrom: Support <support@example.com>\nSent: Monday, November 23, 2026 10:00 AM\n"
                     "To: Ann <ann@customer.example>\nSubject: RE: Invoice\n\nold text", id="Outlook From:/Sent:"),
        pytest.param("\n________________________________\nFrom: Support <support@example.com>\n"
                     "Sent: Monday, November 23, 2026 10:00 AM\nTo: Ann\nSubject: RE: Invoice\n\nold text",
                     id="Outlook on the web: rule, From:/Sent:"),
        pytest.param("\nVon: Support <support@example.com>\nGesendet: Montag, 23. November 2026 10:00\n"
                     "An: Ann\nBetreff: AW: Rechnung\n\nalter Text", id="Outlook Von:/Gesendet:"),
        pytest.param("\nFrom: Support <support@example.com>\nDate: Monday, 23 November 2026 at 10:00\n"
                     "To: Ann\n\nold text", id="Apple Mail / Outlook for Mac From:/Date:"),
        pytest.param("\n-- \nAnn Customer\nACME Corp | +49 30 1234567", id="-- signature"),
        pytest.param("\n--\nAnn Customer", id="-- signature without the space"),
        pytest.param("\nSent from my iPhone", id="Sent from my iPhone"),
        pytest.param("\nSent from my Galaxy", id="Sent from my Galaxy"),
        pytest.param("\nVon meinem iPhone gesendet", id="Von meinem iPhone gesendet"),
        pytest.param("\n-- \nAnn\n\nOn Mon, 23 Nov 2026, Support wrote:\n> old", id="signature then history"),
    ],
)
def test_history_and_signatures_are_removed_and_the_new_text_stays(rest: str) -> None:
    assert reply_text(NEW + "\n" + rest) == NEW


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("I wrote: the invoice is missing.\nPlease resend it.", id="'wrote:' inside a sentence"),
        pytest.param("On Monday I will be in the office.\nCall me then.", id="sentence starting with On"),
        pytest.param("Am Montag bin ich im Büro.\nBitte dann anrufen.", id="sentence starting with Am"),
        pytest.param("The price is 5 > 3 euros.\nThanks.", id="> inside a line"),
        pytest.param("From: my side everything works.\nThanks!", id="From: not followed by Sent:"),
        pytest.param("Name\n__________________\nSignature line for the form", id="underscores without From:"),
        pytest.param("Steps:\n1. open\n2. -- click --\n3. done", id="dashes inside a line"),
    ],
)
def test_ordinary_text_is_kept_whole(text: str) -> None:
    assert reply_text(text) == text


def test_crlf_and_interleaved_replies() -> None:
    text = "Answers below.\r\n\r\n> Which version?\r\n4.2\r\n> Which OS?\r\nLinux\r\n"
    assert reply_text(text) == "Answers below.\n\n4.2\nLinux"


def test_a_reply_that_is_only_a_quote_has_no_new_text() -> None:
    assert reply_text("> old\n> text\n") == ""
    assert reply_text("On Mon, 23 Nov 2026, Support wrote:\n> old") == ""
