"""The new words of a reply: what the author wrote, without the history they quoted or their signature.

Staff read this in ``inboxd explain`` and the case history, and commitments are only looked for here:
a promise quoted from an earlier message must not count again.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inboxd.mail.parse import parse_message
from inboxd.mail.reply import reply_text, reply_text_html

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


# --------------------------------------------------------------------------------------------
# The corpus: real clients' replies in tests/data/replies (sources and licences in SOURCES.md)
# --------------------------------------------------------------------------------------------

REPLIES = Path(__file__).resolve().parents[1] / "data" / "replies"
# Cases inboxd still gets wrong, with the reason; strict, so a fix shows up as a failure to clean up here.
KNOWN_MISSES = {
    "quote-4.txt": "a line of '>>>' arrows in prose reads as a quote",
}


def corpus(folder: Path = REPLIES) -> list[Path]:
    """The tuned split (the held-out one, in held-out/, is only scored: tests/perf/score_replies.py)."""
    return sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".html", ".eml"))


def new_words(case: Path) -> str:
    """What inboxd makes of a case, by the path a message of that kind takes."""
    if case.suffix == ".eml":
        return parse_message(case.read_bytes()).reply_text
    if case.suffix == ".html":
        return reply_text_html(case.read_text(encoding="utf-8"))
    return reply_text(case.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "case",
    [pytest.param(case, id=case.name,
                  marks=[pytest.mark.xfail(reason=KNOWN_MISSES[case.name], strict=True)]
                  if case.name in KNOWN_MISSES else [])
     for case in corpus()],
)
def test_corpus_reply_is_the_new_words(case: Path) -> None:
    expected = case.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n")
    assert new_words(case) == expected


def test_corpus_is_large_and_covers_every_client() -> None:
    cases = corpus()
    assert len(cases) >= 40
    assert all(case.with_suffix(".expected").exists() for case in cases)
    clients = {case.name.split("-")[0] for case in cases}
    assert {"gmail", "outlook", "apple", "thunderbird", "mobile", "quote", "outlookweb"} <= clients
    assert {case.suffix for case in cases} == {".txt", ".html", ".eml"}
    listed = (REPLIES / "SOURCES.md").read_text(encoding="utf-8")
    unlisted = [case.name for case in cases
                if case.name not in listed and case.stem not in listed]
    assert not unlisted, f"cases without a source in SOURCES.md: {unlisted}"


def test_held_out_split_is_apart_complete_and_listed() -> None:
    # The held-out split (tests/data/replies/held-out) is scored by tests/perf/score_replies.py and asserted by no
    # test on purpose; here only its bookkeeping: every case has an expectation and a listed source, and no case
    # is in both splits.
    held = REPLIES / "held-out"
    cases = corpus(held)
    assert len(cases) >= 100
    assert all(case.with_suffix(".expected").exists() for case in cases)
    listed = (held / "README.md").read_text(encoding="utf-8")
    assert [case.name for case in cases if f"| {case.name} |" not in listed and f"| {case.stem} |" not in listed] == []
    assert not {case.stem for case in cases} & {case.stem for case in corpus()}


# --------------------------------------------------------------------------------------------
# Languages and clients: one attribution, header block, separator or footer per form
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "rest",
    [
        pytest.param("El 02/11/2026 a les 10:00, Support ha escrit:\n> vell", id="ca Thunderbird: ha escrit"),
        pytest.param("W dniu 2.11.2026 o 10:00, Support pisze:\n> stary", id="pl Thunderbird: W dniu … pisze"),
        pytest.param("Dnia 2 listopada 2026 10:00 Support <s@x.example> napisał(a):\n> stary",
                     id="pl: Dnia … napisał(a)"),
        pytest.param("ma 2.11.2026 klo 10.00 Support Oy (\ns@x.example) kirjoitti:\n> vanha",
                     id="fi Gmail: kirjoitti, wrapped"),
        pytest.param("пн, 2 нояб. 2026 г. в 10:00, Support <s@x.example>:\n> старый", id="ru Gmail: date, address:"),
        pytest.param("пн, 2 лист. 2026 р. о 10:00 Support <s@x.example> пише:\n> старий", id="uk Gmail: пише"),
        pytest.param("在 2026年11月2日，上午10:00，Support <s@x.example> 写道：\n> 旧", id="zh Apple Mail: 写道"),
        pytest.param("2026. 11. 2. 오전 10:00, Support <s@x.example> 작성:\n> 이전", id="ko Apple Mail: 작성"),
        pytest.param("发件人: Support <s@x.example>\n发送时间: 2026年11月2日 10:00\n收件人: Ann\n主题: 1042\n\n旧",
                     id="zh Outlook block"),
        pytest.param("보낸 사람: Support <s@x.example>\n보낸 날짜: 2026년 11월 2일\n받는 사람: Ann\n제목: 1042\n\n이전",
                     id="ko Outlook block"),
        pytest.param("-----Oprindelig meddelelse-----\nFra: Support\nSendt: 2. november 2026\n\ngammel",
                     id="da separator"),
        pytest.param("-----Původní zpráva-----\nOd: Support\nOdesláno: 2. listopadu 2026\n\nstará",
                     id="cs separator"),
        pytest.param("----- Какая-то шапка -----\nОт: Support <s@x.example>\nДата: 02.11.2026\n\nстарый",
                     id="dashed title of any wording, then a header field"),
        pytest.param("---- Support wrote ----\n\nold", id="Android: ---- X wrote ----"),
        pytest.param("On Mon, Nov 2, 2026 at 10:00 AM Support <s@x.example> wrote\n\n> old", id="wrote, no colon"),
        pytest.param("Gesendet: Montag, 02. November 2026 um 10:00 Uhr\nVon: Support <s@x.example>\nAn: Ann\n"
                     "Betreff: Rechnung\n\nalt", id="GMX block starting with Gesendet"),
        pytest.param("------------------ 原始邮件 ------------------\n发件人: \"Support\"<s@x.example>;\n\n旧",
                     id="QQ Mail separator"),
        pytest.param("##- Please type your reply above this line -##\n\nYour request was updated.",
                     id="help desk marker"),
        pytest.param("2016-03-03 17:21 GMT+01:00 Support\n\nold", id="older Gmail, address lost"),
        pytest.param("On 2 Nov 2026, Support <s@x.example> wrote:\nC> old\nC> text", id="Supercite quote"),
        pytest.param("2026/11/2 Support <s@x.example>\n\n| old\n| text", id="'|' quote under an attribution"),
        pytest.param("Enviado desde mi iPhone", id="es iPhone footer"),
        pytest.param("Lähetetty iPhonesta", id="fi iPhone footer"),
        pytest.param("iPhone에서 보냄", id="ko iPhone footer"),
        pytest.param("Gesendet mit der WEB.DE Mail App", id="Web.de app footer"),
        pytest.param("Enviado do iPhone", id="pt iPhone footer without 'meu'"),
        pytest.param("Envoyé depuis Courrier pour Windows", id="fr Windows Mail footer"),
        pytest.param("Enviado desde Correo para Windows", id="es Windows Mail footer"),
        pytest.param("Dihantar dari iPhone saya", id="ms iPhone footer"),
        pytest.param("发自网易邮箱大师", id="zh 163 app footer"),
        pytest.param("从 Windows 版邮件发送", id="zh Windows Mail footer"),
        pytest.param("-------- Message original --------\nSupport\n\nold", id="fr Android separator, no block under"),
        pytest.param("-----Antwort Nachricht-----\n\nalt", id="de 'Antwort Nachricht' separator"),
        pytest.param("------ Mensaje de origen ------\n\nviejo", id="dashed title naming a message"),
        pytest.param("-------- Ursprüngliche Nachricht --------Von: Support <s@x.example> Datum: 02.11.26 10:00 An: "
                     "Ann Betreff: Rechnung\n\nalt", id="de separator glued to its block, one line"),
        pytest.param("-------- Mensaje original --------De: Support <s@x.example> Fecha: 2/11/26 10:00 Para: Ann\n\n"
                     "viejo", id="es separator glued to its block"),
        pytest.param("From: Support <s@x.example> Sent: Monday, 2 November 2026 10:00 To: Ann Subject: Invoice\n\nold",
                     id="Outlook block flattened to one line"),
        pytest.param("Temat: RE: Faktura 2026-11-02 10:00Nadawca: \"Support\" s@x.example Adresat: Ann\n\nstary",
                     id="pl webmail block flattened, fields glued"),
        pytest.param("====\n\nMessage du : 02/11/2026 10:00\nDe : \"Support\" <s@x.example>\nA : ann@x.example\n"
                     "Copie à : \nSujet : Facture\n\nancien", id="fr webmail block under a rule of ="),
        pytest.param("Da: support1042\nData: lunedì 2 novembre 2026 10:00\nA: Ann\nOggetto: Fattura\n\nvecchio",
                     id="it block, a user name with digits in From"),
        pytest.param("On Mon, Nov 2, 2026 at 10:00 AM Support\n\n<\nmailto:Support <s@x.example>\n> wrote:\nold",
                     id="Polymail attribution scattered over lines"),
        pytest.param("\u202bבתאריך יום ב׳, 2 בנוב׳ 2026 ב-10:00 מאת \u202aSupport\u202c\u200f <\u202as@x.example"
                     "\u202c\u200f>:\u202c\n> ישן", id="he Gmail, with bidirectional marks"),
    ],
)
def test_languages_and_clients_history_is_removed(rest: str) -> None:
    assert reply_text(NEW + "\n\n" + rest) == NEW


def test_a_mobile_footer_above_the_text_is_dropped_and_the_text_kept() -> None:
    assert reply_text("Sent from iPhone\n\nHi,\nthe parcel arrived.") == "Hi,\nthe parcel arrived."


def test_a_forwarded_block_in_bold_with_blank_lines_between_fields_is_dropped() -> None:
    text = ("**Gesendet:** Montag, 2. November 2026\n\n**Von:** \"Support\" <s@x.example>\n\n**An:** Ann\n\n"
            "**Betreff:** Rechnung\n\n\nGuten Tag,\ndie Rechnung fehlt.")
    assert reply_text(text) == "Guten Tag,\ndie Rechnung fehlt."


def test_attribution_sharing_the_line_with_the_reply() -> None:
    text = "Thanks, that works. On Mon, 2 Nov 2026 at 10:00, Support <s@x.example> wrote:\n> old\n"
    assert reply_text(text) == "Thanks, that works."


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        pytest.param("thanks On Mon, 2 Nov 2026 at 10:00, s@x.example wrote:\n> old", "thanks", id="after a word"),
        pytest.param("thanks--- On Mon, 2 Nov 2026 at 10:00, s@x.example wrote:\n> old", "thanks",
                     id="after dashes"),
        pytest.param("ok\nfine - see you--- On Mon, 2 Nov 2026 at 10:00, s@x.example wrote:\n> old",
                     "ok\nfine - see you", id="after dashes, a dash in the reply"),
    ],
)
def test_attribution_glued_to_the_reply_without_punctuation(text: str, reply: str) -> None:
    assert reply_text(text) == reply


def test_attribution_wrapped_under_a_line_of_the_reply_keeps_that_line() -> None:
    text = ("I will let you know then...\nOp 16 aug. 2014 05:13 schreef \"Support\" <s@x.example> het\n"
            "volgende geschreven:\n\n> oud\n")
    assert reply_text(text) == "I will let you know then..."


def test_html_history_after_an_hr_is_cut() -> None:
    html = ("<div>Thanks!<div>Ann<hr><b>From: </b>s@x.example<br><b>Sent: </b>Monday<br><b>Subject: </b>x<br>"
            "<p>old</p></div></div>")
    assert reply_text_html(html) == "Thanks!\nAnn"


def test_html_outlook_block_in_another_language_is_cut() -> None:
    html = ('<p class="MsoNormal">Спасибо.</p><div style="border:none;border-top:solid #E1E1E1 1.0pt">'
            '<p class="MsoNormal"><b>От:</b> Support<br><b>Отправлено:</b> 2 ноября 2026 г.</p></div>'
            '<p class="MsoNormal">старый</p>')
    assert reply_text_html(html) == "Спасибо."


# --------------------------------------------------------------------------------------------
# The clients' documented formats, language by language: Gmail's and Apple Mail's attribution, Yahoo, Yandex,
# mail.ru, 163, Android and Samsung, help desks' markers, Outlook's header block (From/Sent/To/Subject)
# --------------------------------------------------------------------------------------------

SENDER = "Ann Example <ann@example.com>"
DOCUMENTED = {
    "gmail en": f"On Mon, Nov 2, 2026 at 10:00 AM {SENDER} wrote:\n> old",
    "gmail de": f"Am Mo., 2. Nov. 2026 um 10:00 Uhr schrieb {SENDER}:\n> old",
    "gmail fr": f"Le lun. 2 nov. 2026 à 10:00, {SENDER} a écrit :\n> old",
    "gmail es": "El lun, 2 nov 2026 a las 10:00, Ann Example (<ann@example.com>) escribió:\n> old",
    "gmail it": f"Il giorno lun 2 nov 2026 alle ore 10:00 {SENDER} ha scritto:\n> old",
    "gmail pt": f"Em seg., 2 de nov. de 2026 às 10:00, {SENDER} escreveu:\n> old",
    "gmail nl": f"Op ma 2 nov 2026 om 10:00 schreef {SENDER}:\n> old",
    "gmail ru": f"пн, 2 нояб. 2026 г. в 10:00, {SENDER}:\n> old",
    "gmail pl": f"pon., 2 lis 2026 o 10:00 {SENDER} napisał(a):\n> old",
    "gmail tr": f"{SENDER}, 2 Kas 2026 Pzt, 10:00 tarihinde şunu yazdı:\n> old",
    "gmail ja": f"2026年11月2日(月) 10:00 {SENDER}:\n> old",
    "gmail zh": f"{SENDER} 于2026年11月2日周一 10:00写道：\n> old",
    "gmail zh-tw": f"{SENDER} 於 2026年11月2日 週一 上午10:00寫道：\n> old",
    "gmail ko": f"2026년 11월 2일 (월) 오전 10:00, {SENDER}님이 작성:\n> old",
    "gmail ar": f"في الاثنين، 2 نوفمبر 2026 في 10:00 ص تمت كتابة ما يلي بواسطة {SENDER}:\n> old",
    "gmail hi": f"सोम, 2 नव॰ 2026 को 10:00 am बजे को {SENDER} ने लिखा:\n> old",
    "gmail vi": f"Vào Th 2, 2 thg 11, 2026 vào lúc 10:00 {SENDER} đã viết:\n> old",
    "gmail id": f"Pada tanggal Sen, 2 Nov 2026 pukul 10.00 {SENDER} menulis:\n> old",
    "gmail th": f"เมื่อ จ. 2 พ.ย. 2026 เวลา 10:00 {SENDER} เขียนว่า:\n> old",
    "gmail sv": f"Den mån 2 nov. 2026 kl 10:00 skrev {SENDER}:\n> old",
    "gmail da": f"Den man. 2. nov. 2026 kl. 10.00 skrev {SENDER}:\n> old",
    "gmail no": f"man. 2. nov. 2026 kl. 10:00 skrev {SENDER}:\n> old",
    "gmail fi": "ma 2.11.2026 klo 10.00 Ann Example (ann@example.com) kirjoitti:\n> old",
    "gmail cs": f"po 2. 11. 2026 v 10:00 odesílatel {SENDER} napsal:\n> old",
    "gmail uk": f"пн, 2 лист. 2026 р. о 10:00 {SENDER} пише:\n> old",
    "gmail el": f"Στις Δευ 2 Νοε 2026 στις 10:00, ο/η {SENDER} έγραψε:\n> old",
    "gmail ro": f"În lun., 2 nov. 2026 la 10:00, {SENDER} a scris:\n> old",
    "gmail hu": f"{SENDER} ezt írta (időpont: 2026. nov. 2., H, 10:00):\n> old",
    "gmail ca": "El dl., 2 de nov. 2026 a les 10:00, Ann Example (<ann@example.com>) va escriure:\n> old",
    "gmail bn": f"সোম, ২ নভে, ২০২৬ ১০:০০ AM এ {SENDER} লিখেছেন:\n> old",
    "gmail fa": f"در تاریخ دوشنبه ۲ نوامبر ۲۰۲۶ ساعت ۱۰:۰۰ {SENDER} نوشت:\n> old",
    "gmail ur": f"پیر، 2 نومبر، 2026 کو 10:00 {SENDER} نے لکھا:\n> old",
    "gmail sw": f"Mnamo Jumatatu, 2 Nov 2026 saa 10:00 {SENDER} aliandika:\n> old",
    "gmail tl": f"Noong Lun, Nob 2, 2026 nang 10:00 AM, sumulat si {SENDER}:\n> old",
    "gmail ms": f"Pada Isn, 2 Nov 2026 pada 10:00 PG {SENDER} menulis:\n> old",
    "gmail en unquoted": f"On Mon, Nov 2, 2026 at 10:00 AM {SENDER} wrote:\nold",
    "apple fr": f"Le 2 nov. 2026 à 10:00, {SENDER} a écrit :\n\nold",
    "apple ja": f"2026/11/02 10:00、{SENDER}のメール:\n\nold",
    "apple ru": f"2 нояб. 2026 г., в 10:00, {SENDER} написал(а):\n\nold",
    "apple nl": f"Op 2 nov. 2026 om 10:00 heeft {SENDER} het volgende geschreven:\n\nold",
    "apple sv": f"2 nov. 2026 kl. 10:00 skrev {SENDER}:\n\nold",
    "apple pt": f"Em 2 de nov. de 2026, à(s) 10:00, {SENDER} escreveu:\n\nold",
    "apple tr": f"2 Kas 2026 tarihinde 10:00 saatinde, {SENDER} şunları yazdı:\n\nold",
    "apple pl": f"Wiadomość napisana przez {SENDER} w dniu 02.11.2026, o godz. 10:00:\n\nold",
    "apple es": f"El 2 nov 2026, a las 10:00, {SENDER} escribió:\n\nold",
    "apple it": f"Il giorno 2 nov 2026, alle ore 10:00, {SENDER} ha scritto:\n\nold",
    "apple de": f"Am 02.11.2026 um 10:00 schrieb {SENDER}:\n\nold",
    "apple zh": f"2026年11月2日 10:00，{SENDER} 写道：\n\nold",
    "apple ko": f"2026. 11. 2. 오전 10:00, {SENDER} 작성:\n\nold",
    "yahoo en": f"On Monday, November 2, 2026, 10:00:00 AM GMT+1, {SENDER} wrote:\n\nold",
    "yahoo fr": f"Le lundi 2 novembre 2026, 10:00:00 UTC+1, {SENDER} a écrit :\n\nold",
    "yahoo de": f"Am Montag, 2. November 2026, 10:00:00 MEZ hat {SENDER} Folgendes geschrieben:\n\nold",
    "yahoo es": f"El lunes, 2 de noviembre de 2026, 10:00:00 CET, {SENDER} escribió:\n\nold",
    "yahoo it": f"Il lunedì 2 novembre 2026, 10:00:00 CET, {SENDER} ha scritto:\n\nold",
    "yahoo pt": f"Em segunda-feira, 2 de novembro de 2026, 10:00:00 BRT, {SENDER} escreveu:\n\nold",
    "yandex": '02.11.2026, 10:00, "Ann Example" <ann@example.com>:\n\nold',
    "mailru": f"Понедельник, 2 ноября 2026, 10:00 +03:00 от {SENDER}:\n\nold",
    "163": '在 2026-11-02 10:00:00，"Ann Example" <ann@example.com> 写道：\n\nold',
    "android": "---- Ann Example wrote ----\n\nold",
    "android de": "---- Ann Example schrieb ----\n\nold",
    "android fr": "---- Ann Example a écrit ----\n\nold",
    "android date": f"---- On Mon, 02 Nov 2026 10:00:00 +0100 {SENDER} wrote ----\n\nold",
    "samsung": f"-------- Original message --------\nFrom: {SENDER}\nDate: 02/11/2026 10:00 (GMT+01:00)\n"
        f"To: s@x.example\nSubject: Re: x\n\nold",
    "samsung de": f"-------- Ursprüngliche Nachricht --------\nVon: {SENDER}\nDatum: 02.11.26 10:00 (GMT+01:00)\n"
        f"An: s@x.example\nBetreff: x\n\nold",
    "samsung fr": f"-------- Message d'origine --------\nDe : {SENDER}\nDate : 02/11/2026 10:00 (GMT+01:00)\n"
        f"À : s@x.example\nObjet : x\n\nold",
    "samsung es": f"-------- Mensaje original --------\nDe: {SENDER}\nFecha: 2/11/26 10:00 (GMT+01:00)\n"
        f"Para: s@x.example\nAsunto: x\n\nold",
    "samsung pt": f"-------- Mensagem original --------\nDe: {SENDER}\nData: 02/11/2026 10:00 (GMT-03:00)\n"
        f"Para: s@x.example\nAssunto: x\n\nold",
    "samsung it": f"-------- Messaggio originale --------\nDa: {SENDER}\nData: 02/11/26 10:00 (GMT+01:00)\n"
        f"A: s@x.example\nOggetto: x\n\nold",
    "zendesk en": "##- Please type your reply above this line -##\n\nold",
    "zendesk ja": "##- このラインより上に返信を入力してください -##\n\nold",
    "zendesk zh": "##- 请在此行上方键入回复内容 -##\n\nold",
    "zendesk ko": "##- 이 줄 위에 회신을 입력하십시오 -##\n\nold",
    "zendesk tr": "##- Lütfen yanıtınızı bu satırın üstüne yazın -##\n\nold",
    "zendesk fi": "##- Kirjoita vastauksesi tämän rivin yläpuolelle -##\n\nold",
    "zendesk cs": "##- Svou odpověď napište nad tento řádek -##\n\nold",
    "freshdesk": "-- Please reply above this line --\n\nold",
}


def _outlook_block(fields: tuple[str, str, str, str]) -> str:
    sender, sent, to, subject = fields
    return f"{sender}: {SENDER}\n{sent}: 2 November 2026 10:00\n{to}: Support\n{subject}: Invoice\n\nold"


OUTLOOK_FIELDS = {
    "en": ("From", "Sent", "To", "Subject"),
    "de": ("Von", "Gesendet", "An", "Betreff"),
    "fr": ("De", "Envoyé", "À", "Objet"),
    "es": ("De", "Enviado el", "Para", "Asunto"),
    "it": ("Da", "Inviato", "A", "Oggetto"),
    "pt": ("De", "Enviada em", "Para", "Assunto"),
    "pt-br": ("De", "Enviado", "Para", "Assunto"),
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp"),
    "ru": ("От", "Отправлено", "Кому", "Тема"),
    "pl": ("Od", "Wysłano", "Do", "Temat"),
    "tr": ("Kimden", "Gönderildi", "Kime", "Konu"),
    "ja": ("差出人", "送信日時", "宛先", "件名"),
    "zh": ("发件人", "发送时间", "收件人", "主题"),
    "zh-tw": ("寄件者", "寄件日期", "收件者", "主旨"),
    "ko": ("보낸 사람", "보낸 날짜", "받는 사람", "제목"),
    "ar": ("من", "تم الإرسال", "إلى", "الموضوع"),
    "sv": ("Från", "Skickat", "Till", "Ämne"),
    "da": ("Fra", "Sendt", "Til", "Emne"),
    "no": ("Fra", "Sendt", "Til", "Emne"),
    "fi": ("Lähettäjä", "Lähetetty", "Vastaanottaja", "Aihe"),
    "cs": ("Od", "Odesláno", "Komu", "Předmět"),
    "uk": ("Від", "Надіслано", "Кому", "Тема"),
    "el": ("Από", "Στάλθηκε", "Προς", "Θέμα"),
    "he": ("מאת", "נשלח", "אל", "נושא"),
    "hu": ("Feladó", "Elküldve", "Címzett", "Tárgy"),
    "ro": ("De la", "Trimis", "Către", "Subiect"),
    "vi": ("Từ", "Đã gửi", "Đến", "Chủ đề"),
    "id": ("Dari", "Dikirim", "Kepada", "Perihal"),
    "th": ("จาก", "ส่ง", "ถึง", "เรื่อง"),
    "hi": ("प्रेषक", "भेजा गया", "प्रति", "विषय"),
    "ca": ("De", "Enviat", "A", "Assumpte"),
    "ms": ("Daripada", "Dihantar", "Kepada", "Perkara"),
    "fa": ("از", "ارسال شده", "به", "موضوع"),
    "bn": ("প্রেরক", "প্রেরিত", "প্রাপক", "বিষয়"),
    "sk": ("Od", "Odoslané", "Komu", "Predmet"),
    "hr": ("Šalje", "Poslano", "Prima", "Predmet"),
    "sr": ("Од", "Послато", "За", "Тема"),
    "bg": ("От", "Изпратено", "До", "Тема"),
    "lt": ("Nuo", "Išsiųsta", "Kam", "Tema"),
    "et": ("Saatja", "Saadetud", "Adressaat", "Teema"),
    "sl": ("Od", "Poslano", "Za", "Zadeva"),
}
for _lang, _fields in OUTLOOK_FIELDS.items():
    DOCUMENTED["outlook " + _lang] = _outlook_block(_fields)

@pytest.mark.parametrize("rest", list(DOCUMENTED.values()), ids=list(DOCUMENTED))
def test_documented_client_formats_are_history(rest: str) -> None:
    assert reply_text(NEW + "\n\n" + rest) == NEW


HTML_REPLY = "<div>Thanks, that fixed it.</div>"
HTML_DOCUMENTED = {
    "owa": (HTML_REPLY + '<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">'
             '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Ann &lt;ann@x.example&gt;<br><b>'
             'Sent:</b> Monday, November 2, 2026 10:00 AM<br><b>To:</b> Support<br><b>Subject:</b> Invoice</font>'
             '<div>&nbsp;</div></div><div>old</div>'),
    "owa de": (HTML_REPLY + '<div id="appendonsend"></div><hr><div id="divRplyFwdMsg" dir="ltr"><b>Von:</b> Ann<br><b>'
             'Gesendet:</b> Montag, 2. November 2026 10:00<br><b>An:</b> Support<br><b>Betreff:</b> Rechnung</div>'
             '<div>alt</div>'),
    "gmail": (HTML_REPLY + '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
             'On Mon, Nov 2, 2026 at 10:00 AM Ann &lt;<a href="mailto:ann@x.example">ann@x.example</a>'
             '&gt; wrote:<br></div>'
             '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,20'
             '4);padding-left:1ex">old</blockquote></div>'),
    "yahoo": (HTML_REPLY + '<div id="yahoo_quoted_123" class="yahoo_quoted"><div style="font-family:Helvetica"><div>'
             'On Monday, November 2, 2026, 10:00:00 AM GMT+1, Ann &lt;ann@x.example&gt; wrote:</div><div>old</div>'
             '</div></div>'),
    "thunderbird": (HTML_REPLY + '<div class="moz-cite-prefix">On 02/11/2026 10:00, Ann wrote:<br></div>'
             '<blockquote type="cite" cite="mid:x@y">old</blockquote>'),
    "apple inside": (HTML_REPLY + '<div><br><blockquote type="cite"><div>'
             'On 2 Nov 2026, at 10:00, Ann &lt;ann@x.example&gt; wrote:</div>'
             '<br class="Apple-interchange-newline"><div>old</div></blockquote></div>'),
    "apple outside fr": (HTML_REPLY + '<div><br><div>Le 2 nov. 2026 à 10:00, Ann &lt;ann@x.example&gt; a écrit :</div>'
             '<br class="Apple-interchange-newline"><blockquote type="cite"><div>ancien</div></blockquote></div>'),
    "plain blockquote": HTML_REPLY + "<blockquote>old</blockquote>",
    "hr from": HTML_REPLY + "<hr><b>From:</b> Ann<br><b>Sent:</b> Monday<br><b>Subject:</b> x<br>old",
    "hr attribution": (HTML_REPLY + "<hr><div>On Mon, 2 Nov 2026 at 10:00, Ann &lt;ann@x.example&gt; wrote:</div><div>"
             "old</div>"),
    "outlook desktop ja": (HTML_REPLY + '<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm '
             '0cm"><p class="MsoNormal"><b>差出人:</b> Ann<br><b>送信日時:</b> 2026年11月2日 10:00<br>'
             '<b>宛先:</b> Support<br>'
             '<b>件名:</b> 請求書</p></div><p class="MsoNormal">古い</p>'),
    "outlook 2003": (HTML_REPLY + '<div class="OutlookMessageHeader" lang="en-us" dir="ltr" align="left">'
             '<hr tabindex="-1"><font face="Tahoma" size="2"><b>From:</b> Ann<br><b>Sent:</b> Monday<br><b>To:</b>'
             ' Support<br><b>Subject:</b> x<br></font><br></div><div>old</div>'),
    "new outlook mac": (HTML_REPLY + '<div id="mail-editor-reference-message-container">'
             '<div class="ms-outlook-mobile-reference-message"><b>From: </b>Ann &lt;ann@x.example&gt;<br><b>'
             'Date: </b>Monday, 2 November 2026 at 10:00<br></div><div>old</div></div>'),
    "olk mac": (HTML_REPLY + '<span id="OLK_SRC_BODY_SECTION"><div><span>From: </span>Ann<br><span>Date: </span>'
             'Monday<br></div><div>old</div></span>'),
    "gmx": (HTML_REPLY + '<div name="quote" style="margin:10px 5px 5px 10px; padding: 10px 0 10px 10px; border-left:2p'
             'x solid #C3D9E5;"><div style="margin:0 0 10px 0;"><b>Gesendet:</b>'
             '&nbsp;Montag, 02. November 2026 um 10:00 Uhr<br><b>Von:</b>&nbsp;Ann<br><b>An:</b>&nbsp;Support<br>'
             '<b>Betreff:</b>&nbsp;Rechnung</div><div name="quoted-content">alt</div></div>'),
    "protonmail": (HTML_REPLY + '<div class="protonmail_quote">'
             'On Monday, November 2nd, 2026 at 10:00, Ann &lt;ann@x.example&gt; wrote:<br>'
             '<blockquote class="protonmail_quote" type="cite">old</blockquote></div>'),
    "zoho": (HTML_REPLY + '<div class="zmail_extra_hr" style="border-top: 1px solid #ccc;"></div>'
             '<div class="zmail_extra"><div><br></div><div id="Zm-_Id_-Sgn1">'
             '---- On Mon, 02 Nov 2026 10:00:00 +0100 <b>Ann &lt;ann@x.example&gt;</b> wrote ---</div>'
             '<blockquote style="border-left: 1px solid #0000FF;">old</blockquote></div>'),
    "qq": (HTML_REPLY + '<div><br></div><div style="font-size: 12px;font-family: Arial Narrow;padding:2px 0 2px 0;">'
             '------------------&nbsp;原始邮件&nbsp;------------------</div>'
             '<div style="font-size: 12px;background:#efefef;padding:8px;"><div><b>发件人:</b>'
             '&nbsp;"Ann"&lt;ann@x.example&gt;;</div><div><b>发送时间:</b>'
             '&nbsp;2026年11月2日(星期一) 上午10:00</div></div>'
             '<div>旧</div>'),
    "mailru": (HTML_REPLY + '<br><br><br>'
             'Понедельник, 2 ноября 2026, 10:00 +03:00 от Ann &lt;<a href="mailto:ann@x.example">ann@x.example</a>'
             '&gt;:<br><blockquote style="border-left:1px solid #0857A6; margin:10px; padding:0 0 0 10px;">'
             'старый</blockquote>'),
    "yandex": (HTML_REPLY + '<div>&nbsp;</div><div>02.11.2026, 10:00, "Ann" &lt;ann@x.example&gt;:</div><blockquote>'
             'старый</blockquote>'),
    "front": (HTML_REPLY + '<div class="front-blockquote"><br><div>'
             'On Mon, Nov 2, 2026 at 10:00 AM, Ann &lt;ann@x.example&gt; wrote:</div><blockquote type="cite">'
             'old</blockquote></div>'),
    "android samsung": (HTML_REPLY + "<div><br></div><div><br></div><div>-------- Original message --------</div><div>"
             "From: Ann &lt;ann@x.example&gt; </div><div>Date: 02/11/2026 10:00 (GMT+01:00) </div><div>"
             "To: Support </div><div>Subject: x </div><div><br></div>old"),
    "outlook ios": (HTML_REPLY + '<div id="ms-outlook-mobile-signature"><div>Get <a href="https://aka.ms/o0ukef">'
             'Outlook for iOS</a></div></div><hr style="display:inline-block;width:98%">'
             '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Ann<br><b>Sent:</b> Monday<br></div><div>old</div>'),
}

@pytest.mark.parametrize("html", list(HTML_DOCUMENTED.values()), ids=list(HTML_DOCUMENTED))
def test_documented_html_quotes_are_history(html: str) -> None:
    assert reply_text_html(html) == "Thanks, that fixed it."


# --------------------------------------------------------------------------------------------
# Words that look like history markers but are the writer's own
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Please book:\nFrom: Berlin\nTo: Munich\nDate: 5 December", id="booking form with From:/To:"),
        pytest.param("Il cliente ha scritto:\nla merce è arrivata rotta.", id="'the customer wrote:' without date"),
        pytest.param("On Friday I sent you the invoice:\n\nInvoice 1042, 50 EUR", id="On ... sent ...:"),
        pytest.param("Sent via DHL yesterday.\nTracking: 0034043416", id="'Sent via' in a sentence"),
        pytest.param("Sent from our warehouse, it should arrive Friday.\nThanks", id="'Sent from' in a sentence"),
        pytest.param("I'm sorry for the delay.\nThe fix is live.", id="'sorry for' in a sentence"),
        pytest.param("Thanks.\nI wrote to you on 2 Nov 2026 at 10:00:\n\nthe invoice is wrong.",
                     id="'I wrote to you on <date>:'"),
        pytest.param("Thanks.\nAs my colleague wrote on 3 March 2026:\nthe invoice is wrong.",
                     id="'<someone> wrote on <date>:' with no quote or address"),
        pytest.param("Am 2.11. um 10:00 schrieb ich Ihnen Folgendes:\nDie Rechnung stimmt nicht.",
                     id="'schrieb ich Ihnen Folgendes:' opening the message"),
        pytest.param("Schedule:\nFrom: 2 Nov 2026\nTo: 6 Nov 2026\nSubject: maths", id="timetable From/To/Subject"),
        pytest.param("我的订单信息：\n日期：2026年11月2日\n主题：退款\n\n请尽快处理。", id="zh form: date, subject"),
        pytest.param("Prices:\n| Item | Price |\n| A | 5 |", id="a table of '|' lines"),
        pytest.param("---- Step 1 ----\nOpen the app.\n---- Step 2 ----\nLog in.", id="dashed headings"),
        pytest.param("Log:\n2016-03-03 17:21 GMT+01:00 job started", id="a log line with a GMT date, not alone"),
        pytest.param("It fails:\nmysql> select 1;\nERROR 2006", id="a terminal prompt, not a Supercite quote"),
        pytest.param("Thanks.\nSent with love from Berlin\nAnn", id="'Sent with' in a greeting"),
        pytest.param("Gesendet mit der Post am Montag.\nBitte prüfen.", id="'Gesendet mit der Post'"),
        pytest.param("Hi,\n\nOn 2 Nov I wrote the ticket:\nthe app crashes.", id="'On <date> I wrote …:', no year"),
        pytest.param("Please book:\nFrom: Berlin 10:00\nDate: 5 December\nSubject: trip", id="booking with a time"),
        pytest.param("Notes:\nFrom: 2 Nov To: 6 Nov Subject: maths Date: 1 Nov", id="a timetable on one line"),
        pytest.param("Trip:\nFrom: Berlin To: Munich Date: 5 December 2026", id="a trip on one line, with a year"),
        pytest.param("No: the parcel did not arrive.\nTo: ann@x.example, as asked.", id="'No:' then 'To:' an address"),
        pytest.param("Hi,\n---- Message of the day ----\nBe kind.", id="dashed heading naming a message"),
        pytest.param("Hi,\n-- Mail --\nIt bounced.", id="short dashed heading naming mail"),
        pytest.param("I will call On Monday and update the ticket:\nit is open.", id="capitalised 'On' in prose"),
        pytest.param("Enviado do armazém ontem, chega sexta.", id="pt 'Enviado do' in a sentence"),
    ],
)
def test_look_alikes_are_kept(text: str) -> None:
    assert reply_text(text) == text


def test_forward_without_comment_keeps_the_forwarded_quote_unquoted() -> None:
    # iOS Mail forwards with the original quoted; with nothing written above, the forward is the message.
    text = ("Begin forwarded message:\n\n> From: Shop <orders@shop.example>\n> Subject: Refund\n"
            "> Date: 2 November 2026\n>\n> Your refund of 20 EUR is on its way.\n")
    assert reply_text(text) == "Your refund of 20 EUR is on its way."


def test_forward_with_comment_stops_at_the_forward() -> None:
    text = "See below, this is wrong.\n\n---------- Forwarded message ---------\nFrom: a@b.example\n\nold"
    assert reply_text(text) == "See below, this is wrong."


def test_forwards_nested_without_comments_are_unwrapped() -> None:
    inner = "Begin forwarded message:\n\nFrom: c@d.example\nSubject: x\n\nThe actual content."
    text = "---------- Forwarded message ---------\nFrom: a@b.example\nSubject: Fwd: x\n\n" + inner
    assert reply_text(text) == "The actual content."


def test_deeply_nested_forwards_stay_bounded() -> None:
    # Each level would be one more pass over the rest: depth is capped, the innermost levels come back as they are.
    text = "Begin forwarded message:\n\nFrom: a@b.example\n\n" * 500 + "content"
    result = reply_text(text)
    assert result.endswith("content")
    assert result.count("Begin forwarded message:") == 500 - 4


def test_wrapped_quote_tail_inside_a_framed_quote_is_history() -> None:
    text = ("Short answer: yes.\n\nOn 2 Nov 2026, at 10:00, Ann <ann@x.example> wrote:\n"
            "> We would like to upgrade all of our forty seats to the business plan before\n"
            "the end of the month, is that possible?\n")
    assert reply_text(text) == "Short answer: yes."


def test_inline_answer_after_a_short_quote_is_kept() -> None:
    text = "Answers below.\n\nOn 2 Nov 2026, at 10:00, Ann <ann@x.example> wrote:\n> Which version?\n4.2\n"
    assert reply_text(text) == "Answers below.\n\n4.2"


def test_mailing_list_footer_is_not_new_text() -> None:
    text = "Fixed in 4.2.\n\n_______________________________________________\nusers mailing list\nusers@lists.x"
    assert reply_text(text) == "Fixed in 4.2."


# --------------------------------------------------------------------------------------------
# HTML-only replies
# --------------------------------------------------------------------------------------------

def test_html_reply_with_nothing_new_is_empty() -> None:
    html = ('<div class="gmail_quote"><div class="gmail_attr">On Mon, 2 Nov 2026 at 10:00, Ann &lt;a@x.example&gt; '
            'wrote:</div><blockquote class="gmail_quote">We will call you.</blockquote></div>')
    assert reply_text_html(html) == ""


def test_html_quote_without_markers_is_still_a_quote() -> None:
    html = "<p>Thanks!</p><blockquote><p>We will refund you tomorrow.</p></blockquote><p>Ann</p>"
    assert reply_text_html(html) == "Thanks!\n\nAnn"


def test_html_signature_after_dashes_is_removed() -> None:
    html = "<div>Yes, please.</div><div>-- </div><div>Ann Example</div><div>+49 30 123</div>"
    assert reply_text_html(html) == "Yes, please."


@pytest.mark.parametrize("html", ["", "   ", "<html></html>", "<!-- nothing -->", "\x00", "<<<>>>",
                                  "<div>" * 3000 + "deep", "\ud800<p>x</p>"])
def test_html_odd_inputs_give_text_not_errors(html: str) -> None:
    result = reply_text_html(html)
    result.encode("utf-8")  # storable: no lone surrogates
    assert "<div>" not in result
    if "deep" in html:
        assert result == "deep"


def test_only_the_head_of_a_huge_body_is_read() -> None:
    """A body of hundreds of thousands of lines (a pasted log, or one built so each line is tried as an
    attribution) is read to MAX_LINES: the author's words on top are kept, the cost stays bounded."""
    from inboxd.mail.reply import MAX_LINES

    head = "Hello,\nthe export fails again, log below.\nAnna\n"
    lines = [f"On Mon, 3 Nov 2026 at 10:{i % 60:02d}, someone{i} <a{i}@example.com> wrote something:"
             for i in range(10 * MAX_LINES)]
    body = head + "\n".join(lines)
    result = reply_text(body)
    assert result.startswith("Hello,\nthe export fails again, log below.")
    assert result == reply_text("\n".join(body.split("\n")[:MAX_LINES]))
    assert f"someone{MAX_LINES}" not in result
