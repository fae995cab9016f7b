"""The new words of a message: quoted history, signatures and mobile footers removed. Pure.

Commitments are only looked for in these words, and staff read them in ``inboxd explain``: a promise quoted from an
earlier message must not count twice, and a customer's answer must not drown in the history under it.

What counts as history, by the clients that write it, in the thirty or so languages most mail is written in
(English, Chinese, Spanish, Arabic, Hindi, Portuguese, Russian, Japanese, German, French, Korean, Italian, Turkish,
Polish, Dutch, Vietnamese, Indonesian, Ukrainian, Thai, Swedish, Danish, Norwegian, Finnish, Czech, Greek, Hebrew,
Romanian, Hungarian, Catalan; Gmail's attribution and Outlook's header block also in Bengali, Persian, Urdu, Swahili,
Filipino, Malay, Slovak, Croatian, Serbian, Bulgarian, Lithuanian, Estonian, Latvian and Slovenian):

- Attribution lines (Gmail, Apple Mail, Thunderbird, Yahoo, Polymail, Front, Android clients, 163, Yandex, mail.ru):
  a date or an address and a "wrote" verb of one of these languages ("On Mon, 2 Nov 2026 at 10:00, Ann <ann@x>
  wrote:", "W dniu … pisze:", "… 写道：", "… 작성:", "Ann <ann@x> kirjoitti 2.11.2026 kello 10.00:"), or a date and
  an address ending in a colon ("пн, 2 нояб. 2026 г. в 10:00, Ann <ann@x>:"), wrapped over up to three lines, on a
  line of their own or after the last sentence of the reply; Android's "---- Ann wrote ----"; "… wrote" without the
  colon when a quote follows.
- Header blocks (Outlook desktop, web and mobile, Apple Mail and Outlook for Mac forwards, GMX and Web.de, QQ Mail,
  Samsung): From/Sent/Date/To/Subject fields in any of these languages (German "Von:/Gesendet:", Chinese
  "发件人:/发送时间:", Korean "보낸 사람:/보낸 날짜:" …), often under a rule of underscores; separators such as
  "-----Original Message-----", "-----Oprindelig meddelelse-----", "------------------ 原始邮件 ------------------"
  and any dashed line followed by such a block.
  Also a whole block on one line ("From: Ann <ann@x> Sent: … To: … Subject: …", fields even glued to the value
  before them, as conversions of HTML leave it) and a separator glued to its block.
- Help desks' "Please type your reply above this line" markers (Zendesk, Freshdesk, Help Scout and the like); Zendesk's
  "##- … -##" frame in any language.
- ``>``-quoted lines anywhere.

An attribution followed by ``>``-quoted lines only frames that quote: text after the quote is the writer's again
(inline and bottom posting). An attribution or a header block followed by unquoted text starts history that runs to
the end. A forwarded message is history when the writer added words above it; forwarded with no words of its own,
the forwarded content is what the message says, and it is kept (without its header block).

Signatures go from a "-- " (or "--") line on; "Sent from my iPhone" and its kin in these languages end the text;
short mobile excuses ("Please excuse my brevity") are dropped. Closings such as "Best regards,\\nAnn" are the
writer's words and stay.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from inboxd.mail.html import html_to_text

# Marks that change how a line shows but not what it says: bidirectional controls (Arabic and Hebrew clients wrap
# names and addresses in them), byte-order marks, no-break spaces, and the "&nbsp;" QQ Mail leaves in plain text.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Words for "wrote" that close (or, in Hungarian, Turkish and Finnish forms, sit in) an attribution. Latin, Cyrillic
# and Greek ones are whole words; the others are written without spaces around them or end in combining marks.
_VERBS_WORD = (
    r"wrote|writes|schrieb|geschrieben|[ée]crit|escribi[óo]|escreveu|scritto|scrisse|schreef|geschreven|skrev"
    r"|kirjoitti|napisa[łl]\(a\)|napisa[łl]a?|napisana|pisze|naps[ae]l(?:\(a\)|a)?|nap[íi]sal|написал(?:\(а\)|а)?|пишет"
    r"|написав(?:\(ла\))?|пише|yazd[ıi]|έγραψε|a\s+scris|[íi]rta|va\s+escriure|escrit|đã\s+viết|viết|menulis"
    r"|aliandika|sumulat|napisao|napisala|написао|написа|rašė|kirjutas|rakstīja|napísal"
)
_VERBS_OTHER = (r"كتب|كتابة|כתב/ה|כתבה|כתב|เขียนว่า|ने\s*लिखा|写道|寫道|のメール|のメッセージ|작성|쓴\s*글|লিখেছেন|نوشت"
                r"|نے\s*لکھا")
# Matched on lower-cased text (a case-insensitive match is several times slower), the others only on non-ASCII text.
_VERB_WORD = re.compile(rf"(?<!\w)(?:{_VERBS_WORD})(?!\w)")
_VERB_OTHER = re.compile(_VERBS_OTHER)
_VERB_ANY_CASE = re.compile(rf"(?<!\w)(?:{_VERBS_WORD})(?!\w)|{_VERBS_OTHER}", re.IGNORECASE)
# An address as clients print it in attributions: "<ann@x>", "(ann@x)", "ann@x", "[mailto:ann@x]".
_ADDRESS = re.compile(r"[<(\[]?(?:mailto:)?[^\s<>()\[\]\"]+@[^\s<>()\[\]\"]+[>)\]]?")
_ADDRESS_AT_END = re.compile(r"""[<(\[]?(?:mailto:)?[^\s<>()\[\]"]+@[^\s<>()\[\]"]+[>)\]]*["')]*;?$""")
_DIGIT_OR_AT = re.compile(r"[\d@]")
# Emacs' Supercite quotes with the writer's initials or name: "Ann> …", "C> …" (capitalised: "mysql> select 1;"
# pasted from a terminal is the writer's).
_SUPERCITE = re.compile(r"^[A-Z][A-Za-z]{0,9}>(?:\s|$)")
# Lines that read as empty: the mark open-tracking extensions (Streak, Mixmax) leave above the signature.
_TRACKERS = frozenset({"\u1427", "\u200b", "\ufeff"})
# Older Gmail: "2016-03-03 17:21 GMT+01:00 Ann <ann@x>:"; its time zone tells it even when the rest is lost.
_GMAIL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2} GMT[+-]\d{1,2}:\d{2}\s+[\"']?[^\W\d_a-z][^\d]{0,80}$")
_TIME_OR_YEAR = re.compile(r"(?<!\d)(?:\d{1,2}[:.]\d{2}|(?:19|20)\d{2})(?!\d)")
_QUOTED_NAME = re.compile(r"\"[^\"]*\"|\([^()]*\)|<[^<>]*>|\[[^\[\]]*\]")
# Sentence punctuation after the verb means prose ("wrote: the invoice is wrong. Please …:").
_PROSE_PUNCTUATION = re.compile(r"[.!?;。！？](?:\s|$)")
# Who cannot be the name in "<name> wrote on <date>:": the writer talking about their own earlier mail.
_PRONOUNS = frozenset(
    "i we you he she they ich wir sie er je nous vous il elle ils on yo nosotros usted ella io noi lui lei eu nós ele"
    " ela ik wij jij hij zij jag vi du han hon jeg minä me hän ja my ty on ona я мы ты он она вы".split())
# "On 2 Nov I wrote:" is the writer speaking of their own mail.
_FIRST_PERSON = frozenset("i we ich wir je nous yo io jag jeg ik wij ja я мы".split())
# Words that open an attribution on the same line as the reply: "Thanks! On Mon, … wrote:".
_OPENER = re.compile(
    r"(?:^|(?<=[.!?)。！？]\s)|(?<=[.!?)]\s\s))(?:on|am|le|el|op|il|em|den|på|w\s+dniu|dnia|dne|στις|în|pe|vào|pada"
    r"|в|у|в[іи]д|on\s+\w+day)\s", re.IGNORECASE)
# The same, capitalised after a word or dashes with no punctuation between ("reply On Wed, … wrote:", "thanks--- On …
# wrote:", as older Yahoo and some webmailers write it): the capital tells the opener from a preposition.
_OPENER_MID_LINE = re.compile(
    r"(?:(?<=\S\s)|(?<=-{2}))(?:On|Am|Le|El|Op|Il|Em|Den|På|W\s+dniu|Dnia|Dne|Στις|În|Pe|Vào|Pada|В|У)\s")
# Android and Zoho frame the attribution in dashes: "---- Ann wrote ----", "---- On <date> Ann wrote ----".
_FRAMED = re.compile(r"^-{2,}\s*(.{1,300}?)\s*-{2,}$")

# "-----Original Message-----" and its translations; forwards. Any dashed title followed by a header field is also
# one (see _history_block), so this list only needs the ones that may stand alone.
_SEPARATOR_WORDS = (
    r"original\s+message|original|forwarded\s+message|reply\s+message|ursp?r[üu]ngliche\s+nachricht|originalnachricht"
    r"|antwort\s+nachricht|urspr[üu]ngliche\s+e-?mail|message\s+original|mensaje\s+de\s+origen|oorspronkelijk\s+e-?mailbericht"
    r"|weitergeleitete\s+nachricht|oprindelig\s+(?:meddelelse|besked)|opprinnelig\s+melding|videresendt\s+melding"
    r"|ursprungligt\s+meddelande|vidarebefordrat\s+meddelande|alkuper[äa]inen\s+viesti|v[äa]litetty\s+viesti"
    r"|oorspronkelijk\s+bericht|doorgestuurd\s+bericht|message\s+d'origine|message\s+transf[ée]r[ée]"
    r"|mensaje\s+original|mensaje\s+reenviado|messaggio\s+originale|messaggio\s+inoltrato|mensagem\s+original"
    r"|mensagem\s+encaminhada|wiadomo[śs][ćc]\s+oryginalna|wiadomo[śs][ćc]\s+przekazana|p[ůu]vodn[íi]\s+zpr[áa]va"
    r"|p[řr]eposlan[áa]\s+zpr[áa]va|исходное\s+сообщение|оригинальное\s+сообщение|пересылаемое\s+сообщение"
    r"|пересланное\s+сообщение|вихідне\s+повідомлення|початкове\s+повідомлення|пересланий\s+лист"
    r"|[öo]zg[üu]n\s+ileti|orijinal\s+mesaj|iletilen\s+ileti|eredeti\s+[üu]zenet|tov[áa]bb[íi]tott\s+[üu]zenet"
    r"|mesaj\s+original|mesaj\s+redirecționat|αρχικό\s+μήνυμα|προωθημένο\s+μήνυμα|הודעה\s+מקורית|הודעה\s+שהועברה"
    r"|الرسالة\s+الأصلية|رسالة\s+معاد\s+توجيهها|missatge\s+original|missatge\s+reenviat|pesan\s+asli"
    r"|pesan\s+yang\s+diteruskan|th[ưu]\s+g[ốo]c|thư\s+chuyển\s+tiếp|ข้อความต้นฉบับ|ข้อความที่ส่งต่อ|मूल\s+संदेश"
    r"|原始邮件|原始郵件|原始信件|原邮件|回复的原邮件|转发邮件|轉寄郵件|元のメッセージ|転送メッセージ|원본\s+메시지"
    r"|전달된\s+메시지"
)
_FORWARD = re.compile(
    rf"^\s*(?:-{{2,}}\s*(?:{_SEPARATOR_WORDS})\s*-{{2,}}"
    r"|begin\s+forwarded\s+message\s*:|anfang\s+der\s+weitergeleiteten\s+nachricht\s*:"
    r"|d[ée]but\s+du\s+message\s+r[ée]exp[ée]di[ée]\s*:|inicio\s+del\s+mensaje\s+reenviado\s*:"
    r"|inizio\s+messaggio\s+inoltrato\s*:|begin\s+doorgestuurd\s+bericht\s*:|in[ií]cio\s+da\s+mensagem\s+reencaminhada\s*:"
    r"|början\s+på\s+vidarebefordrat\s+meddelande\s*:|start\s+på\s+videresendt\s+(?:besked|melding)\s*:"
    r"|转发的邮件\s*:|轉寄的郵件\s*:|転送されたメッセージ\s*:|전달된\s+메시지\s*:|пересланное\s+письмо\s*:)\s*$",
    re.IGNORECASE,
)
# A dashed title of any wording ("----- Původní zpráva -----"): history when a header field follows it.
_DASHED_TITLE = re.compile(r"^\s*-{2,}\s*[^\d\s-][^\d]{1,60}?\s*-{2,}\s*$")
# A dashed title naming a message in up to three words, in the languages above ("----- Message d'origine -----",
# "-----Antwort Nachricht-----", "------ 回复的邮件 ------"), five dashes or more each side as clients write them: a
# separator even with nothing recognisable under it (a person's heading, "---- Message of the day ----", is shorter).
_MESSAGE_NOUN = re.compile(
    r"message|nachricht|mail|mensaje|messaggio|mensagem|bericht|meddelelse|besked|melding|meddelande|viesti"
    r"|wiadomo[śs][ćc]|zpr[áa]va|сообщени|повідомлен|письм|лист|ileti|mesaj|[üu]zenet|μήνυμα|הודעה|رسالة|missatge"
    r"|pesan|th[ưu]|ข้อความ|संदेश|邮件|郵件|信件|メッセージ|메시지",
    re.IGNORECASE,
)
# Separators that clients (or a conversion of their HTML) glue to the header block on the same line:
# "-------- Ursprüngliche Nachricht --------Von: Ann …".
_SEPARATOR_PREFIX = re.compile(rf"^\s*-{{2,}}\s*(?:{_SEPARATOR_WORDS})\s*-{{2,}}\s*(?=\S)", re.IGNORECASE)
# Help desks put a marker above the quoted notification: the reply is what is written above it.
_REPLY_ABOVE = re.compile(
    # Zendesk frames its marker in "##- … -##" in every language it is translated to.
    r"^##-.{4,150}-##$"
    r"|^\W*(?:.{0,40}(?:reply|write|type|respond|answer)\b.{0,40}\babove\s+this\s+line|.{0,60}\bno\s+escriba\s+debajo"
    r"|.{0,60}(?:über|oberhalb)\s+dieser\s+zeile|.{0,60}au-dessus\s+de\s+cette\s+ligne|.{0,60}encima\s+de\s+esta\s+l[íi]nea"
    r"|.{0,60}sopra\s+questa\s+riga|.{0,60}boven\s+deze\s+(?:regel|lijn)|.{0,60}acima\s+desta\s+linha"
    r"|.{0,60}ovanför\s+denna\s+rad|.{0,60}over\s+denne\s+linje|.{0,60}nad\s+t[ąa]\s+lini[ąa]|.{0,60}выше\s+этой\s+строки)",
    re.IGNORECASE,
)

_REPLY_ABOVE_HINT = re.compile(r"^##-|line|zeile|ligne|l[íi]nea|riga|regel|lijn|linha|rad|linje|lini|строки|debajo",
                               re.IGNORECASE)

# Header fields, by kind, in the languages above. A header block is two or more of them in a row.
_FROM_FIELD = (r"from|von|absender|de|de\s+la|da|van|nadawca|daripada|از|প্রেরক|[šs]alje|nuo|saatja|од"
               r"|fra|fr[åa]n|avs[äa]ndare|afsender|od|от|від|kimden|من|מאת"
               r"|από|feladó|lähettäjä|dari|từ|จาก|प्रेषक|发件人|寄件者|寄件人|差出人|보낸\s*사람|expéditeur|remitente")
_SENT_FIELD = (r"sent|date\s+sent|gesendet|envoy[ée](?:\s+le)?|enviad[oa](?:\s+el|\s+em)?|enviat|dihantar|ارسال\s+شده"
               r"|প্রেরিত|poslano|послато|изпратено|odoslan[ée]|i[šs]si[ųu]sta|saadetud|nos[ūu]t[īi]ts|inviato|verzonden|sendt"
               r"|skickat|wys[łl]ano|wys[łl]ane|odesl[áa]no|отправлено|надіслано|g[öo]nderildi|gönderilme\s+tarihi"
               r"|تم\s+الإرسال|تاريخ\s+الإرسال|נשלח|στάλθηκε|trimis|elk[üu]ldve|l[äa]hetetty|dikirim|terkirim"
               r"|đã\s+gửi|ส่ง|भेजा\s+गया|发送时间|發送時間|寄件日期|送信日時|보낸\s*날짜")
_DATE_FIELD = (r"date|message\s+du|datum|data|dato|fecha"
               r"|дата|tarih|d[áa]tum|dat[ăa]|ημερομηνία|תאריך|التاريخ|tanggal|ngày"
               r"|วันที่|दिनांक|p[äa]iv[äa]m[äa][äa]r[äa]|日期|時間|时间|日付|날짜")
_TO_FIELD = (r"to|an|[àa]|para|aan|til|till|do|copie\s+[àa]|adresat|odbiorca"
             r"|komu|кому|kime|إلى|אל|προς|c[ăa]tre|c[íi]mzett|vastaanottaja"
             r"|kepada|đến|ถึง|به|প্রাপক|prima|за|до|kam|adressaat|za|प्रति|收件人|收件者|宛先|받는\s*사람|cc|bcc|kopie|kopia|dw|копия|копія|bilgi|"
             r"nuskha|عنوان|עותק|κοιν|másolat|kopio|抄送|副本|참조|tembusan|đồng\s+gửi|สำเนา")
_SUBJECT_FIELD = (r"subject|betreff|objet|sujet|perkara|موضوع|বিষয়|predmet|teema|t[ēe]ma|zadeva"
                  r"|asunto|oggetto|onderwerp|assunto|assumpte|emne|[äa]mne|temat|тема|konu"
                  r"|الموضوع|נושא|θέμα|subiect|t[áa]rgy|aihe|subjek|perihal|chủ\s+đề|เรื่อง|विषय|p[řr]edm[ěe]t"
                  r"|主题|主旨|件名|제목|tema")
_HEADER_KIND = re.compile(
    rf"^\s*(?:\*{{1,2}}|\|)?\s*(?:(?P<from>{_FROM_FIELD})|(?P<sent>{_SENT_FIELD})|(?P<date>{_DATE_FIELD})"
    rf"|(?P<to>{_TO_FIELD})|(?P<subject>{_SUBJECT_FIELD}))\s*(?:\*{{1,2}}|\|)?\s*[:：|]",
    re.IGNORECASE,
)
# A field inside a line: after a space, a digit or punctuation (a conversion may glue "13:46Nadawca:"), not a letter.
_INLINE_FIELD = re.compile(
    rf"(?<![^\W\d_])(?:(?P<from>{_FROM_FIELD})|(?P<sent>{_SENT_FIELD})|(?P<date>{_DATE_FIELD})|(?P<to>{_TO_FIELD})"
    rf"|(?P<subject>{_SUBJECT_FIELD}))\s*[:：]",
    re.IGNORECASE,
)
# A number standing on its own, not the tail of a word: "5 December", "10:00", not "ann1984".
_STANDALONE_NUMBER = re.compile(r"(?<!\w)\d")
_HEADER_FIELD = re.compile(r"^\s*>?\s*(?:\*{1,2}|\|)?[^\W\d][\w .'-]{0,30}?(?:\*{1,2}|\|)?\s*[:：|]", re.IGNORECASE)
_RULE = re.compile(r"^\s*(?:_{10,}|-{10,}|—{5,}|={4,}|\*{10,})\s*$")
_LIST_FOOTER = re.compile(r"mailing\s+list\s*$", re.IGNORECASE)
_SIGNATURE = frozenset({"--", "-- ", "__"})
# "Sent from my iPhone" in the languages above, and the app footers of Outlook, Yahoo, GMX, Web.de, Yandex, mail.ru.
# What phones and mail apps name in their footers ("Enviado do iPhone", "Envoyé depuis Courrier pour Windows").
_DEVICES = (r"iphone|ipad|ipod|android|samsung|galaxy|huawei|xiaomi|redmi|honor|oppo|motorola|nokia|pixel|blackberry"
            r"|smartphone|celular|tel[ée]fono|telem[óo]vel|m[óo]vil|dispositivo|tablet|t[ée]l[ée]phone|mobile|portable"
            r"|outlook|yahoo|gmail|courrier|correo|e-?mail|mail|aol|gmx|proton")
_SENT_FROM = re.compile(
    r"^\s*(?:sent\s+from\s|sent\s+(?:with|via|using)\s+(?:proton|spark|superhuman|blackberry|zoho|tutanota|fastmail"
    r"|airmail|edison|newton|aquamail|k-9|fairemail|polymail|front|yahoo|outlook)|get\s+outlook\s+for\s"
    r"|von\s+meinem\s.{1,60}gesendet|gesendet\s+(?:von|mit|vom|über)\s+(?:der\s+|dem\s+|meinem\s+|meiner\s+)?.{0,30}"
    r"(?:iphone|ipad|android|handy|smartphone|tablet|mail|outlook|gmx|web\.de|1&1|t-online|freenet|app)\b"
    r"|sent\s+(?:with|via|using)\s+(?:the\s+|my\s+|a\s+)?.{0,30}\b(?:app|mail|mobile|phone|device|iphone|ipad|android"
    r"|tablet)\b\.?$|(?:\w+\s+){0,3}outlook\s+(?:for|f[üu]r|pour|para|per|voor|f[öo]r|til|dla|для|pro|za)\s+(?:ios|android)|holen\s+sie\s+sich\s+outlook|outlook\s+f[üu]r\s+\w+\s+herunterladen"
    r"|diese\s+nachricht\s+wurde\s+von\s+meinem\s|envoy[ée]\s+(?:de|depuis|à\s+partir\s+de|avec)\s+(?:mon|ma|l'"
    rf"|{_DEVICES})|t[ée]l[ée]charger\s+outlook"
    rf"|enviado\s+(?:desde|de|do|da|a\s+partir\s+do)\s+(?:(?:el\s+|la\s+|o\s+|a\s+)?(?:mi|meu|minha)\s|o\s+|a\s+)?(?:{_DEVICES})"
    r"|enviado\s+(?:desde|de|do|a\s+partir\s+do)\s+(?:mi|meu|minha|o\s+meu)\s|dihantar\s+dari\s"
    r"|(?:来自|发自|發自)\s*(?:我的)?\s*\S{0,12}(?:iphone|ipad|android|手机|手機|邮箱|郵箱|客户端|客戶端)"
    r"|从\s*windows\s*版邮件发送|從\s*windows\s*版郵件傳送"
    r"|obtener\s+outlook|obter\s+o\s+outlook|inviato\s+da|scarica\s+outlook|verzonden\s+(?:vanaf|met|via)\s"
    r"|verzonden\s+vanuit\s|verstuurd\s+(?:vanaf|vanuit|met)\s|download\s+outlook|skickat\s+fr[åa]n\s|h[äa]mta\s+outlook|sendt\s+fra\s"
    r"|hent\s+outlook|l[äa]hetetty\s+\S+(?:sta|stä|lta|ltä)\b|wys[łl]an[eo]\s+z\s|pobierz\s+(?:aplikacj[ęe]\s+)?outlook"
    r"|odesl[áa]no\s+z\s|отправлено\s+(?:с|из|со)\s|получить\s+outlook|надіслано\s+з\s|\S+['’]?(?:dan|den|tan|ten)"
    r"\s+g[öo]nderildi|στάλθηκε\s+από|נשלח\s+מ|trimis\s+(?:de\s+pe|din|de\s+la)\s|elk[üu]ldve\s|\S+(?:r[óo]l|r[őo]l)"
    r"\s+k[üu]ldve|az\s+\S+(?:r[óo]l|r[őo]l)\s+k[üu]ldve|enviat\s+des\s+de|أ?ُ?رسلت\s+من|مرسل\s+من|gửi\s+từ|dikirim\s+dari|ส่งจาก|.{1,40}से\s+भेजा\s+गया"
    r"|发自我的|從我的|从我的|發自我的|\S+から送信|\S+에서\s*보냄)",
    re.IGNORECASE,
)
_MOBILE_NOTE = re.compile(
    r"^\s*(?:(?:please\s+)?(?:excuse|pardon|forgive)\s+(?:my\s+|the\s+|any\s+)?(?:brevity|typos?|autocorrect)"
    r"|sorry\s+for\s+(?:my\s+|the\s+|any\s+)?(?:brevity|typos?)"
    r"|(?:bitte\s+)?entschuldigen\s+sie\s+(?:die\s+|meine\s+)?(?:k[üu]rze|tippfehler)"
    r"|(?:typed|written)\s+on\s+(?:a|my)\s+(?:mobile|phone|tiny\s+keyboard))"
    r"(?:\s+(?:and|&)\s+(?:any\s+)?(?:typos?|brevity|autocorrect))?[\s.!,]*(?:sent\s+from\s+.*)?$",
    re.IGNORECASE,
)
# A line this long is prose or a pasted blob, never an attribution, and regular expressions need not look at it.
_MAX_MARKER_LINE = 1000
# An attribution, even wrapped, is shorter than this.
_MAX_ATTRIBUTION = 400
# Forwards inside forwards are unwrapped this many times; deeper ones are returned as they are.
_MAX_FORWARD_DEPTH = 3


# Only this many lines of a body are read: the author's words come first, and what follows so far down is quoted
# history, a pasted log or a body built to make the rules slow (each line may be tried as an attribution).
MAX_LINES = 3000


def reply_text(text: str) -> str:
    """The text the author wrote in this message, without what they quoted, forwarded under it or signed.

    Of a longer body, the first :data:`MAX_LINES` lines are read (the cost stays bounded whatever arrives)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n", MAX_LINES)
    return _new_words(lines[:MAX_LINES], 0)


def _new_words(lines: list[str], depth: int) -> str:
    kept: list[str] = []
    count = len(lines)
    framed_quote = False  # a quote introduced by an attribution line has been met
    previous_quoted = 0  # length of the quoted line just before, 0 when that line was not quoted
    pipe_quote = False  # in a quote marked with "|" under an attribution
    index = 0
    while index < count:
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped in _TRACKERS:
            kept.append("")
            previous_quoted = 0
            index += 1
            continue
        if stripped[0] == ">" or pipe_quote and stripped[0] == "|" or _SUPERCITE.match(stripped):
            previous_quoted = len(stripped)
            index += 1
            continue
        pipe_quote = False
        # Clients that re-wrap a quote (Gmail on Android) leave the tail of a long quoted line unmarked on the next
        # line. An inline answer starts its own sentence; a wrapped tail goes on in lower case, or is the rest of
        # a link.
        if framed_quote and previous_quoted and (
                previous_quoted >= 50 and stripped[0].islower() or stripped[0] in "(<" or stripped.startswith("http")):
            index += 1
            continue
        previous_quoted = 0
        if line.rstrip() in _SIGNATURE:
            break
        if len(stripped) > _MAX_MARKER_LINE:
            kept.append(line.rstrip())
            index += 1
            continue
        plain = _plain(stripped)
        # "Sent from my iPhone" is a short line on its own; "Inviato da desk, is much easier" is a sentence.
        if _SENT_FROM.match(plain) and ("," not in plain and len(plain) <= 80 or plain.endswith(":")):
            if _has_words(kept):
                break
            index += 1  # some phones put it above the text
            continue
        if _MOBILE_NOTE.match(plain):
            index += 1
            continue
        if len(plain) <= 160 and _REPLY_ABOVE_HINT.search(plain) and _REPLY_ABOVE.match(plain):
            if _has_words(kept):
                break
            index += 1  # the marker of a notification quoted under nothing: what follows may be the reply
            continue
        history = _history_block(lines, index)
        if history:
            if _has_words(kept):
                break
            # Nothing written above it: a forward whose content is the message.
            return _unwrapped(lines, index + history, depth)
        if _RULE.match(stripped) and _next_line(lines, index + 1, _LIST_FOOTER.search):
            break  # a mailing-list footer
        head = _attribution_ending_line(plain, lines, index)
        if head:
            # "Thanks! On Mon, … wrote:": the reply's part of the line stays, the attribution goes.
            kept.append(head)
            if _next_line(lines, index + 1, _is_quoted):
                framed_quote = True
                pipe_quote = _next_line(lines, index + 1, _is_pipe_quoted)
                index += 1
                continue
            break
        span = _attribution_span(lines, index)
        if span:
            if plain[0] in "<(" and kept and kept[-1] and len(kept[-1]) <= 80:
                kept.pop()  # the name, wrapped away from the address: "Ann Example\n<ann@x>, 2 Kas … yazdı:"
            quote_follows = _next_line(lines, index + span, _is_quoted)
            if quote_follows:
                framed_quote = True
                pipe_quote = _next_line(lines, index + span, _is_pipe_quoted)
                index += span
                continue
            # An attribution that names no address, with unquoted text under it and nothing above: the writer's
            # own words ("Am 2.11. schrieb ich Ihnen Folgendes:"), as clients that leave history unquoted name the
            # address.
            if _has_words(kept) or "@" in " ".join(lines[index:index + span]):
                break  # unquoted history runs to the end
        kept.append(line.rstrip())
        index += 1
    return _tidy(kept)


def _plain(text: str) -> str:
    """``text`` without invisible marks, with ASCII colons for full-width ones."""
    if text.isascii():
        return text.replace("&nbsp;", " ") if "&" in text else text
    return _INVISIBLE.sub("", text).replace("：", ":").replace("\xa0", " ").replace("&nbsp;", " ").strip()


def _history_block(lines: list[str], index: int) -> int:
    """How many lines a forward marker, "Original Message" separator or header block opener at ``index`` takes."""
    stripped = _plain(lines[index].strip()).strip("* ") or "*"
    if _FORWARD.match(stripped) or stripped.startswith("-----") and stripped.endswith("-----") and _DASHED_TITLE.match(
            stripped) and _MESSAGE_NOUN.search(stripped) and len(stripped.strip("- ").split()) <= 3:
        return 1
    glued = _SEPARATOR_PREFIX.match(stripped)
    if glued and _HEADER_KIND.match(stripped[glued.end():]) or stripped.count(":") >= 3 and _flattened_block(stripped):
        return 1
    if (_RULE.match(stripped) or _DASHED_TITLE.match(stripped)) and _next_line(
            lines[index + 1:index + 4], 0, lambda line: _HEADER_KIND.match(_plain(line))):
        return 1
    first = _HEADER_KIND.match(stripped)
    if first and first.lastgroup in ("from", "date", "sent"):
        # A header block has more fields in the next few lines (the From line may wrap: "From: Bob [mailto:\n
        # bob@x]"). A booking form ("From: Berlin\nTo: Munich\nDate: 5 December") has fields too, so the block
        # must also show something only mail headers have: an address or a Sent field; or a Date and a Subject
        # under a From that names someone rather than a date.
        kinds = {first.lastgroup}
        block = lines[index:index + 6]
        from_value = stripped[first.end():] if first.lastgroup == "from" else ""
        for ahead in block[1:]:
            plain = _plain(ahead.strip())
            match = _HEADER_KIND.match(plain)
            if match and match.lastgroup:
                kinds.add(match.lastgroup)
                if match.lastgroup == "from":
                    from_value = plain[match.end():]
        # (A user name may have digits, "Sally54721"; a date or a place with a time has numbers of their own.)
    # Some clients start the block with the date: "Date: …\nTo: ann@x" is one too, when it names an address.
        if len(kinds) < 2 or not kinds & {"from", "sent"} and not (first.lastgroup == "date"
                                                                   and any("@" in line for line in block)):
            return 0
        if (any("@" in line for line in block) or "sent" in kinds
                or {"from", "date", "subject"} <= kinds and not _STANDALONE_NUMBER.search(from_value)):
            return 1
    return 0


def _flattened_block(line: str) -> bool:
    """Whether ``line`` is a whole header block on one line, as a conversion of an HTML block (or a webmailer) leaves
    it: "From: Ann <ann@x> Sent: Monday, 2 November 2026 10:00 To: Bob Subject: Invoice", "Temat: RE: … Nadawca:
    "Ann" ann@x Adresat: …". It starts with a field and names three kinds of field."""
    first = _HEADER_KIND.match(line)
    if not first or len(line) > _MAX_ATTRIBUTION:
        return False
    kinds = {first.lastgroup} | {match.lastgroup for match in _INLINE_FIELD.finditer(line, first.end())}
    # As for a block over several lines: an address or a Sent field, or a Date and a Subject under a From; a time or
    # a year besides, which a form of places ("From: Berlin To: Munich Date: 5 December") lacks.
    return len(kinds) >= 3 and bool(kinds & {"from", "sent"}) and (
        "@" in line or "sent" in kinds or {"from", "date", "subject"} <= kinds and bool(_TIME_OR_YEAR.search(line)))


def _unwrapped(lines: list[str], start: int, depth: int) -> str:
    """The new words of a forwarded message: its header block dropped, one level of quoting taken off."""
    index = start
    while index < len(lines) and not lines[index].strip():
        index += 1
    # The forwarded header block: fields and their wrapped continuations, up to the first blank line (or, as some
    # clients put a blank line between the fields, up to the first blank line not followed by another field).
    while index < len(lines) and (_HEADER_FIELD.match(_plain(lines[index]))
                                  or _HEADER_KIND.match(_plain(lines[index]))):
        while index < len(lines) and lines[index].strip() and lines[index].strip() != ">":
            index += 1
        ahead = index
        while ahead < len(lines) and not lines[ahead].strip():
            ahead += 1
        if ahead >= len(lines) or not _HEADER_KIND.match(_plain(lines[ahead])):
            break
        index = ahead
    rest = lines[index:]
    if rest and all(line.lstrip().startswith(">") for line in rest if line.strip()):
        rest = [re.sub(r"^\s*> ?", "", line) for line in rest]
    if depth >= _MAX_FORWARD_DEPTH:
        return _tidy([line.rstrip() for line in rest])
    return _new_words(rest, depth + 1)


def _attribution_span(lines: list[str], index: int) -> int:
    """1–3 when the attribution line(s) start at ``index`` (Gmail wraps long ones), else 0."""
    line = _plain(lines[index].strip())
    if _is_attribution(line, lines, index + 1):
        return 1
    # Wrapped attributions start with their date (or the name and address, in the forms that put those first), and
    # a line that ends in a colon is complete.
    if len(line) > _MAX_ATTRIBUTION or not _DIGIT_OR_AT.search(line) or (
            line[-1] in ":：" and line.count("(") <= line.count(")")):
        return 0
    joined = line
    for extra in (1, 2):
        if index + extra >= len(lines):
            break
        following = _plain(lines[index + extra].strip())
        # A line starting with ">" is a quote, unless it closes an address left open: "<ann@x.example\n>:".
        if not following or len(following) > _MAX_ATTRIBUTION or (
                following.startswith(">") and joined.rfind("<") <= joined.rfind(">")):
            break
        joined = f"{joined} {following}" if not joined.endswith("<") else joined + following
        if _is_attribution(joined, lines, index + extra + 1):
            # Prefer the attribution that starts on a later line: "Am heutigen Tage\nAm So., 1. Jan. … schrieb".
            # Prefer the attribution that starts on a later line when this one ends a sentence: "… let you know
            # then...\nOp 16 aug. 2014 05:13 schreef Ann <ann@x> het\nvolgende geschreven:".
            rest = " ".join(_plain(line.strip()) for line in lines[index + 1:index + extra + 1])
            if line[-1] in ".!?…。" and _TIME_OR_YEAR.search(rest) and _is_attribution(rest, lines, index + extra + 1):
                return 0
            return extra + 1
    return _scattered_attribution_span(lines, index, line)


def _scattered_attribution_span(lines: list[str], index: int, line: str) -> int:
    """Polymail scatters its attribution over lines, blank ones too, around the address: "On Tue, Apr 11, 2017 at
    10:07 PM Ann\n\n<\nmailto:Ann <ann@x>\n> wrote:". Up to six lines from an opener and a date, the last one
    holding the verb and the colon."""
    if not _OPENER.match(line) or not _TIME_OR_YEAR.search(line):
        return 0
    parts = [line]
    for extra in range(1, 6):
        if index + extra >= len(lines):
            break
        following = _plain(lines[index + extra].strip())
        if not following:
            continue
        if len(following) > 120:
            break
        parts.append(following)
        if following[-1] in ":：":
            if _verbs(following) and _is_attribution(" ".join(parts), lines, index + extra + 1):
                return extra + 1
            break
    return 0


def _is_attribution(text: str, lines: list[str], after: int) -> bool:
    """Whether ``text`` (one line, or wrapped lines joined) is an attribution; ``after``: the index of the line
    after it, to see whether a quote follows (which lets "… wrote" without its colon count)."""
    text = text.lstrip(" \t>*").rstrip(" \t*")
    if len(text) > _MAX_ATTRIBUTION or not text:
        return False
    if text[-1] == "-":
        framed = _FRAMED.match(text)
        return bool(framed and _verbs(framed.group(1)))
    if text[-1] not in ":：":
        # "On Mon, 2 Nov 2026 at 10:00, Ann <ann@x> wrote" with the colon lost: only when a quote follows.
        # Or with a date and an address, which prose seldom has.
        if text[-1].isalpha() and _verbs(text[-12:]) and (
                _next_line(lines, after, _is_quoted) or "@" in text and _TIME_OR_YEAR.search(text)):
            return _is_attribution_body(text, lines, after)
        # "2013/7/20 Ann <ann@x>" over a quote; older Gmail's "2016-03-03 17:21 GMT+01:00 Ann" over anything.
        if text[-1] in ">)" and _next_line(lines, after, _is_quoted) and _ADDRESS_AT_END.search(text):
            return bool(_TIME_OR_YEAR.search(text))
        return bool(_GMAIL_DATE.match(text)) and len(text) <= 200

    return _is_attribution_body(text[:-1].rstrip(), lines, after)


def _is_attribution_body(body: str, lines: list[str], after: int) -> bool:
    """An attribution without its final colon: a date or address, and a verb or a closing address."""
    if not _DIGIT_OR_AT.search(body):
        return False
    # "<date>, <name> <address>:" (Gmail in Russian and Japanese, Yandex, 163, mail.ru, older Gmail).
    if "@" in body and _ADDRESS_AT_END.search(body) and _TIME_OR_YEAR.search(body):
        return True
    verbs = _verbs(body)
    if not verbs:
        return False
    start, end = verbs[-1]
    tail = _ADDRESS.sub(" ", _QUOTED_NAME.sub(" ", body[end:])).strip()
    if not any(ch.isdigit() for ch in tail):
        # "… wrote", "… schrieb Ann <ann@x>", "… skrev Ann", "… napisał(a)", "… 写道", "… Folgendes geschrieben":
        # nothing after the verb but a name. Not "On 2 Nov I wrote the ticket:", the writer's own sentence.
        if tail and (tail[0].islower() or len(tail) > 120 or _PROSE_PUNCTUATION.search(tail)):
            return False
        return body[:start].rstrip().rpartition(" ")[2].lower() not in _FIRST_PERSON
    # "<name> wrote on <date>" (Thunderbird), "<name> <address> kirjoitti <date>" (Apple Mail in Finnish),
    # "<name> <address> ezt írta (időpont: <date>)" (Gmail in Hungarian): the name comes first and is no pronoun.
    # Prose has this shape too ("As my colleague wrote on 3 March:"), so the form also needs an address or a quote.
    before = _ADDRESS.sub(" ", body[:start]).strip(" ,")
    if not before or any(ch.isdigit() for ch in before) or len(before) > 120:
        return False
    if before.split()[0].lower() in _PRONOUNS or before[0].islower():
        return False
    return "@" in body or _next_line(lines, after, _is_quoted)


def _attribution_ending_line(plain: str, lines: list[str], index: int) -> str | None:
    """The reply's part of a line that ends in an attribution ("Thanks! On Mon, … wrote:"), or None."""
    if plain[-1:] not in ":：" or len(plain) > _MAX_ATTRIBUTION + 200 or not _verbs(plain):
        return None
    for opener in (*_OPENER.finditer(plain), *_OPENER_MID_LINE.finditer(plain)):
        if opener.start() == 0:
            continue
        if _is_attribution(plain[opener.start():], lines, index + 1) and "@" in plain[opener.start():]:
            return plain[:opener.start()].rstrip().rstrip("-").rstrip() or None
    return None


@lru_cache(maxsize=256)
def _verbs(text: str) -> tuple[tuple[int, int], ...]:
    """Where the "wrote" verbs are in ``text``, in order. Cached: a line is asked about more than once."""
    lowered = text.lower()
    if len(lowered) != len(text):  # "İ" lower-cases to two characters: positions would shift
        return tuple(match.span() for match in _VERB_ANY_CASE.finditer(text))
    spans = [match.span() for match in _VERB_WORD.finditer(lowered)]
    if not text.isascii():
        spans = sorted(spans + [match.span() for match in _VERB_OTHER.finditer(text)])
    return tuple(spans)


def _is_quoted(line: str) -> bool:
    """A quoted line, as it may follow an attribution: "> …", "| …" (some older clients), "Ann> …" (Supercite)."""
    line = line.lstrip()
    return line.startswith((">", "| ")) or line == "|" or bool(_SUPERCITE.match(line))


def _is_pipe_quoted(line: str) -> bool:
    return line.lstrip().startswith(("| ", "|\n")) or line.strip() == "|"


def _next_line(lines: list[str], start: int, test: Callable[[str], object]) -> bool:
    """Whether the first non-blank line from ``start`` on passes ``test``."""
    for line in lines[start:start + 50]:
        if line.strip():
            return bool(test(line))
    return False


def _has_words(kept: list[str]) -> bool:
    return any(line.strip() for line in kept)


def _tidy(kept: list[str]) -> str:
    """At most one blank line in a row (removed quotes leave gaps), none around the text."""
    out: list[str] = []
    for line in kept:
        if not line.strip():
            if out and out[-1]:
                out.append("")
            continue
        out.append(line)
    return "\n".join(out).strip()


# HTML clients mark their quotes in the markup, which is surer than any text pattern. Gmail wraps attribution and
# quote in div.gmail_quote; Apple Mail, Thunderbird and most webmailers quote in <blockquote type="cite">;
# Thunderbird puts its attribution in div.moz-cite-prefix; Yahoo in div.yahoo_quoted. A <blockquote> styled
# "border:none" is Gmail's indent button, not a quote.
_HTML_REMOVE = (
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' gmail_quote ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' moz-cite-prefix ')]",
    "//div[contains(concat(' ', normalize-space(@class), ' '), ' yahoo_quoted ')]",
    "//blockquote[@type='cite' or contains(@class, 'quote') or not(re:test(@style, 'border\\s*:\\s*none', 'i'))]",
)
# Outlook does not nest the history: it starts it with a marker and lets it run to the end of the document.
# Outlook on the web and new Outlook: #appendonsend, #divRplyFwdMsg, #mail-editor-reference-message-container.
# Outlook for Mac (2011 to 2016): #OLK_SRC_BODY_SECTION.
# Outlook for Windows and Mac, Windows Mail: a div with a top border holding the From:/Sent: block. Zimbra: hr#zwchr.
# Hotmail: hr#stopSpelling. Older Outlook, Outlook Express, Comcast and many webmailers: an <hr> and then the block
# (a browser shows the rule as a line break; the text conversion does not, so the text rules would not see it).
_BLOCK_START = f"^\\s*(?:{_FROM_FIELD}|{_SENT_FIELD}|{_DATE_FIELD})\\s*[:：]"
_HTML_CUT_FROM = (
    "//*[@id='appendonsend']",
    "//*[@id='divRplyFwdMsg']",
    "//*[@id='mail-editor-reference-message-container']",
    "//*[@id='OLK_SRC_BODY_SECTION']",
    "//hr[@id='zwchr']",
    "//hr[@id='stopSpelling']",
    f"//div[re:test(@style, 'border-top', 'i') and re:test(string(.), '^\\s*(?:{_FROM_FIELD})\\s*[:：]', 'i')]",
    f"//hr[re:test(string(following::text()[normalize-space()][1]), '{_BLOCK_START}', 'i')]",
)


# Every expression above needs one of these in the markup; without any, there is nothing to remove.
_HTML_MARKERS = ("blockquote", "gmail_quote", "moz-cite-prefix", "yahoo_quoted", "appendonsend", "divrplyfwdmsg",
                 "mail-editor-reference-message-container", "olk_src_body_section", "zwchr", "stopspelling",
                 "border-top", "<hr")


def reply_text_html(html: str, *, text: str | None = None) -> str:
    """The new words of an HTML-only message: quotes found in the markup, then the text rules as in ``reply_text``.

    ``text``: ``html_to_text(html)``, when the caller has it already (the parser does), to save converting twice.
    """
    lowered = html.lower()
    if not any(marker in lowered for marker in _HTML_MARKERS):
        return reply_text(html_to_text(html) if text is None else text)
    new = reply_text(html_to_text(html, remove=_HTML_REMOVE, cut_from=_HTML_CUT_FROM))
    if new:
        return new
    # Nothing left outside the quotes: either a reply with no words of its own, which the text rules also find
    # empty (they stop at the attribution), or a forward without comment, whose content they keep.
    return reply_text(html_to_text(html) if text is None else text)
