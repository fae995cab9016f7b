"""HTML mail → readable text. Pure: strings in, a string out, never an exception.

Staff read this text in ``inboxd explain`` and the case history, and commitments are searched in it, so it must keep
what a reader sees as structure: paragraphs, line breaks, list items (with their bullets and numbers), table rows and
the text of links. Scripts, styles and the document head never show.

The conversion is done by inscriptis (Apache-2.0, the licence inboxd itself uses; layout-aware and actively
released) over an lxml tree. html2text is GPL and is deliberately not used. When inscriptis or lxml is missing or
fails on some input, a small extractor on the standard library's ``HTMLParser`` takes over: the text is plainer,
but the message is never lost.

Callers that know which parts of a document are not worth reading (quoted history, see ``mail/reply.py``) pass them
as XPath 1.0 expressions; ``re:test()`` from EXSLT is available for attribute and text patterns.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

try:
    from inscriptis import Inscriptis  # type: ignore[import-untyped]
    from inscriptis.css_profiles import CSS_PROFILES  # type: ignore[import-untyped]
    from inscriptis.model.config import ParserConfig  # type: ignore[import-untyped]
    from lxml import etree  # type: ignore[import-untyped]
    from lxml.html import HTMLParser as LxmlHTMLParser  # type: ignore[import-untyped]
    from lxml.html import document_fromstring
except ImportError:  # pragma: no cover - exercised only where the dependency is not installed
    _LIBRARY = False
else:
    _LIBRARY = True
    # The "strict" profile renders like a browser; the default "relaxed" one indents every nested <div>, and
    # Gmail and Outlook nest a <div> around each line, which would push the text ever further to the right.
    # Link targets stay out: staff want the words, and a long tracking URL would bury them.
    _CONFIG = ParserConfig(css=CSS_PROFILES["strict"], display_links=False, display_images=False)

# Laying out tables is inscriptis' slow part: half a megabyte of table markup takes most of a second. The words
# that matter in a support mail come first, so only the beginning of a giant document is converted.
MAX_HTML_CHARS = 500_000
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_BLANK_RUN = re.compile(r"\n{3,}")
_NAMESPACES = {"re": "http://exslt.org/regular-expressions"}


def html_to_text(html: str, *, remove: Iterable[str] = (), cut_from: Iterable[str] = ()) -> str:
    """Readable text from HTML; never raises.

    ``remove``: XPath expressions for elements to leave out (the text after such an element stays).
    ``cut_from``: XPath expressions for elements from which on, in document order, everything is left out;
    when several match, the earliest wins.
    """
    # A lone surrogate (from text decoded with surrogateescape) would make the result unstorable.
    html = html[:MAX_HTML_CHARS].encode("utf-8", "replace").decode("utf-8")
    removals, cuts = tuple(remove), tuple(cut_from)
    if _LIBRARY:
        try:
            text: str | None = _library_text(html, removals, cuts)
        except etree.ParserError:
            # lxml's word for a document with nothing in it but comments, as a browser would show it.
            return ""
        except Exception:  # noqa: BLE001 - a library failure on hostile markup must not lose the message
            text = None
        # An empty result is believed when something was removed on purpose. Otherwise it may be lxml giving up
        # on a document nested deeper than even its huge-tree limit, and the plain extractor gets its chance.
        if text is not None and (text or removals or cuts):
            return text
    return _stdlib_text(html)


def _library_text(html: str, remove: tuple[str, ...], cut_from: tuple[str, ...]) -> str:
    # lxml refuses str input that declares its own encoding; the str is already decoded.
    html = _XML_DECLARATION.sub("", html, count=1)
    if not html.strip():
        return ""
    # libxml2 drops whatever is nested deeper than 256 elements unless told otherwise, and HTML with unclosed
    # <font> tags nests that deep; a fresh parser each time, since lxml parsers are not to be shared by threads.
    tree = document_fromstring(html, parser=LxmlHTMLParser(huge_tree=True))
    # Outlook writes every line as <p class=MsoNormal> and styles it margin:0 in a <style> block that inscriptis
    # does not read; rendered as paragraphs, each line would stand a blank line apart from the next.
    # Its empty lines are paragraphs holding a lone &nbsp;, which a browser shows and inscriptis drops.
    for paragraph in list(tree.iter("p")):
        if "MsoNormal" in (paragraph.get("class") or ""):
            paragraph.tag = "div"
            if not paragraph.text_content().strip():
                tail = paragraph.tail
                paragraph.clear()  # clear() also takes the text after the element, which is not ours to drop
                paragraph.tail = tail
                paragraph.append(etree.Element("br"))
    # Word's <o:p> holding text of its own outside a paragraph is one (Outlook shows it so); inside a paragraph
    # it is the empty marker Word leaves at its end, and stays inline.
    for office in list(tree.iter("o:p")):
        parent = office.getparent()
        if parent is not None and parent.tag not in ("p", "div", "span") and office.text_content().strip():
            office.tag = "div"
    for expression in remove:
        for element in _xpath(expression)(tree):
            _drop(element)
    for expression in cut_from:
        # Each cut removes everything after its element, so a later expression can only find elements before
        # it: applying them in turn leaves the document cut at the earliest match.
        found = _xpath(expression)(tree)
        if found:
            _cut_from(found[0])
    return _tidy(Inscriptis(tree, _CONFIG).get_text())


@lru_cache(maxsize=64)
def _xpath(expression: str) -> Any:
    """Compile an XPath expression once; callers use a handful of constant ones."""
    return etree.XPath(expression, namespaces=_NAMESPACES)


def _drop(element: Any) -> None:
    """Remove an element and what it contains, keeping the text that follows it."""
    if element.getparent() is not None:
        element.drop_tree()


def _cut_from(element: Any) -> None:
    """Remove an element and everything after it in document order."""
    node = element
    parent = node.getparent()
    while parent is not None:
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node.tail = None
        node, parent = parent, parent.getparent()
    if element.getparent() is not None:
        element.getparent().remove(element)


def _tidy(text: str) -> str:
    """Trailing spaces off every line, at most one blank line in a row, no blank lines around the text."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\xa0", " ").split("\n")]
    return _BLANK_RUN.sub("\n\n", "\n".join(lines)).strip("\n")


class _TextExtractor(HTMLParser):
    """The fallback: block elements become line breaks, scripts and styles vanish."""

    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}
    _SKIP = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag in self._BLOCK:
            self.out.append("\n")
            if tag == "li":
                self.out.append("* ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK and tag != "br":  # <br/> arrives as a start and an end tag: one break
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(data)


def _stdlib_text(html: str) -> str:
    # HTMLParser shows an unterminated comment or declaration as text; a browser shows nothing.
    # It starts at the first opener after the last closer.
    for opener, closer in (("<!--", "-->"), ("<!", ">"), ("<?", ">")):
        closed = html.rfind(closer)
        at = html.find(opener, closed + len(closer) if closed >= 0 else 0)
        if at >= 0:
            html = html[:at]
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except Exception:  # noqa: BLE001 - HTMLParser can still trip over some inputs; tags then just go
        return _tidy(re.sub(r"<[^>]*>", " ", html))
    lines = [" ".join(line.split()) for line in "".join(extractor.out).splitlines()]
    return _tidy("\n".join(lines))
