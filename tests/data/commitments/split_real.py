"""Write ``heldout_real.jsonl`` and ``tuning_real.jsonl`` from the rows below.

Each row is a support-reply sentence written for inboxd in the phrasing of a kind of public source (support
forums, help centres, marketplace seller replies, SaaS status threads); ``source`` names that kind of source and
the situation, never a copied text. A row goes to the held-back file when the first byte of the SHA-1 of its
``source`` is even, else to the tuning file, so the split cannot be chosen row by row; rows that share a source
land together. Run from anywhere: ``python tests/data/commitments/split_real.py``.

Reference times (team calendar of ``config.yaml``: Berlin, Mon-Fri 09:00-17:00, Berlin holidays, 24 Dec closed):
A Tue 2026-11-17 10:00, B Fri 2026-11-20 15:00, C Wed 2026-12-09 11:00, D Mon 2026-09-14 09:30 (CEST),
E Thu 2026-11-19 16:30, F Mon 2026-11-23 08:45, G Wed 2026-12-16 14:00, H Thu 2026-10-01 13:00 (CEST). Expected due times were worked out by hand from DESIGN.md's due-time semantics.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
REF = {"A": "2026-11-17T10:00:00+01:00", "B": "2026-11-20T15:00:00+01:00", "C": "2026-12-09T11:00:00+01:00",
       "D": "2026-09-14T09:30:00+02:00", "E": "2026-11-19T16:30:00+01:00",
       "F": "2026-11-23T08:45:00+01:00", "G": "2026-12-16T14:00:00+01:00", "H": "2026-10-01T13:00:00+02:00"}

# (class, lang, ref, source, text, [(text_contains, due)])
ROWS: list[tuple[str, str, str, str, str, list[tuple[str, str]]]] = [
    # --- requests to wait ---------------------------------------------------------------------------------
    ("wait", "en", "A", "help-centre article reply: refund to card", "Please allow 3–5 business days for the refund to reach your card.", [("refund", "2026-11-24T17:00:00+01:00")]),
    ("wait", "en", "A", "help-centre article reply: refund to card", "We've issued the refund – it can take up to 10 days to show on your statement depending on your bank.", []),
    ("wait", "en", "B", "hosting support forum: DNS migration", "Give us 48 hours to finish moving your DNS records over.", [("DNS records", "2026-11-22T15:00:00+01:00")]),
    ("wait", "en", "B", "hosting support forum: DNS migration", "DNS changes normally take up to 48 hours to propagate worldwide.", []),
    ("wait", "en", "A", "marketplace seller reply: late parcel", "Kindly give us until Thursday to trace the parcel with the courier.", [("trace the parcel", "2026-11-19T17:00:00+01:00")]),
    ("wait", "en", "A", "marketplace seller reply: late parcel", "Did the parcel arrive on Thursday as the tracking page said?", []),
    ("wait", "en", "C", "SaaS community forum: data export", "Allow us a couple of days to generate the full export for your workspace.", [("full export", "2026-12-11T17:00:00+01:00")]),
    ("wait", "en", "C", "SaaS community forum: data export", "Exports larger than 2 GB used to take a couple of days to generate.", []),
    ("wait", "en", "D", "telecom help forum: line fault", "Bear with us for another 24 hours while the engineers finish the line test.", [("line test", "2026-09-15T09:30:00+02:00")]),
    ("wait", "en", "D", "telecom help forum: line fault", "If you can bear with me until Wednesday I'll have the results of the line test for you.", [("line test", "2026-09-16T17:00:00+02:00")]),
    ("wait", "en", "E", "game publisher support: account recovery", "Please give me 2 working days to get your account recovered.", [("account recovered", "2026-11-23T17:00:00+01:00")]),
    ("wait", "en", "E", "game publisher support: account recovery", "Account recoveries are usually handled within 2 working days.", []),
    ("wait", "en", "A", "airline customer care style: baggage claim", "Give me a day or two and I'll come back to you with the claim reference.", [("claim reference", "2026-11-19T17:00:00+01:00")]),
    ("wait", "en", "A", "airline customer care style: baggage claim", "Could you give us two days' notice before you travel?", []),
    ("wait", "en", "B", "printer vendor help-centre reply: warranty", "Allow up to 5 working days for the warranty team to review the photos.", [("warranty team", "2026-11-27T17:00:00+01:00")]),
    ("wait", "de", "A", "deutsches Händlerforum: Rückerstattung", "Bitte geben Sie uns 2–3 Werktage, um die Rückerstattung anzustoßen.", [("Rückerstattung", "2026-11-20T17:00:00+01:00")]),
    ("wait", "de", "A", "deutsches Händlerforum: Rückerstattung", "Die Gutschrift erscheint je nach Bank erst nach 3 bis 5 Werktagen auf Ihrem Konto.", []),
    ("wait", "de", "B", "deutsche Hosting-Hilfe: Umzug", "Geben Sie mir bitte bis Dienstag Zeit, den Umzug Ihres Postfachs abzuschließen.", [("Umzug", "2026-11-24T17:00:00+01:00")]),
    # --- before / by a weekday or holiday -----------------------------------------------------------------
    ("before", "en", "A", "e-commerce seller Q&A: gift order", "We'll make sure the gift set reaches you before Christmas.", [("gift set", "2026-12-23T17:00:00+01:00")]),
    ("before", "en", "A", "e-commerce seller Q&A: gift order", "Orders placed after 18 December may not arrive before Christmas.", []),
    ("before", "en", "A", "US retailer support thread: holiday order", "I'll get the replacement table out to you by Thanksgiving.", [("replacement table", "2026-11-26T17:00:00+01:00")]),
    ("before", "en", "A", "US retailer support thread: holiday order", "Happy Thanksgiving from all of us, and thanks for your patience!", []),
    ("before", "en", "A", "US retailer support thread: Black Friday", "We'll have your account upgraded before Thanksgiving so the discount applies.", [("account upgraded", "2026-11-25T17:00:00+01:00")]),
    ("before", "en", "A", "US retailer support thread: Black Friday", "The discount code stopped working before Black Friday last year, too.", []),
    ("before", "en", "C", "bookshop customer service reply: preorder", "I'll ship the signed copy before New Year.", [("signed copy", "2026-12-31T17:00:00+01:00")]),
    ("before", "en", "C", "bookshop customer service reply: preorder", "We were hoping to ship the signed copies before New Year, but the author is ill.", []),
    ("before", "en", "A", "software vendor forum: licence renewal", "I'll renew the licence before Friday so nothing stops working.", [("renew the licence", "2026-11-19T17:00:00+01:00")]),
    ("before", "en", "A", "software vendor forum: licence renewal", "Your licence expires before Friday unless you renew it.", []),
    ("before", "en", "B", "bike shop service desk reply: repair", "Your bike will be ready before Wednesday, I'll ring you when it is.", [("bike will be ready", "2026-11-24T17:00:00+01:00")]),
    ("before", "en", "C", "travel agency help desk: tickets", "We'll have the tickets sent out ahead of Christmas Eve.", [("tickets", "2026-12-23T17:00:00+01:00")]),
    ("before", "en", "C", "travel agency help desk: tickets", "Will we receive the tickets before Christmas Eve?", []),
    ("before", "en", "D", "university IT help desk: accounts", "I'll set up the student accounts before Friday's induction.", [("student accounts", "2026-09-17T17:00:00+02:00")]),
    ("before", "de", "A", "deutsches Shop-Forum: Weihnachtsbestellung", "Wir sorgen dafür, dass das Paket noch vor Weihnachten bei Ihnen ist.", [("Paket", "2026-12-23T17:00:00+01:00")]),
    ("before", "de", "A", "deutsches Shop-Forum: Weihnachtsbestellung", "Letztes Jahr kamen viele Pakete erst nach Weihnachten an.", []),
    # --- ends of months, quarters, years ------------------------------------------------------------------
    ("period_end", "en", "A", "B2B SaaS account manager reply: invoice", "I'll have the corrected invoice to you by end of month.", [("corrected invoice", "2026-11-30T17:00:00+01:00")]),
    ("period_end", "en", "A", "B2B SaaS account manager reply: invoice", "Invoices are issued at the end of each month.", []),
    ("period_end", "en", "D", "enterprise software community: roadmap", "We're aiming to ship the SSO fix before the end of Q3.", [("SSO fix", "2026-09-30T17:00:00+02:00")]),
    ("period_end", "en", "D", "enterprise software community: roadmap", "The SSO fix was planned for the end of Q3 but slipped.", []),
    ("period_end", "en", "C", "accounting software help forum: tax forms", "We'll get the tax forms to you by year end.", [("tax forms", "2026-12-31T17:00:00+01:00")]),
    ("period_end", "en", "C", "accounting software help forum: tax forms", "Are the tax forms available by year end?", []),
    ("period_end", "en", "D", "agency support reply: site audit", "You'll have the full site audit from me by the end of September.", [("site audit", "2026-09-30T17:00:00+02:00")]),
    ("period_end", "en", "A", "payments provider help thread: payouts", "I'll make sure the missing payout is settled by the end of the quarter.", [("missing payout", "2026-12-31T17:00:00+01:00")]),
    ("period_end", "en", "A", "payments provider help thread: payouts", "Payouts are settled at the end of the quarter for accounts under review.", []),
    ("period_end", "en", "D", "HR software support: reports", "We'll deliver the headcount report at month-end.", [("headcount report", "2026-09-30T17:00:00+02:00")]),
    ("period_end", "de", "D", "deutsche Buchhaltungssoftware-Hilfe: Jahresabschluss", "Die korrigierten Belege schicke ich Ihnen bis Ende des Monats.", [("Belege", "2026-09-30T17:00:00+02:00")]),
    ("period_end", "de", "C", "deutsche Buchhaltungssoftware-Hilfe: Jahresabschluss", "Wir stellen Ihnen die Bescheinigung bis zum Jahresende aus.", [("Bescheinigung", "2026-12-31T17:00:00+01:00")]),
    ("period_end", "de", "D", "deutsches Agenturforum: Quartalsbericht", "Den Quartalsbericht bekommen Sie von uns bis Ende des Quartals.", [("Quartalsbericht", "2026-09-30T17:00:00+02:00")]),
    # --- loose times of day -------------------------------------------------------------------------------
    ("loose_time", "en", "E", "ISP support chat transcript style: outage", "I'll check the outage ticket first thing tomorrow.", [("outage ticket", "2026-11-20T12:00:00+01:00")]),
    ("loose_time", "en", "E", "ISP support chat transcript style: outage", "The outage started first thing this morning.", []),
    ("loose_time", "en", "D", "web host community: SSL", "I'll reissue the certificate later this afternoon.", [("certificate", "2026-09-14T17:00:00+02:00")]),
    ("loose_time", "en", "D", "web host community: SSL", "The certificate was reissued late yesterday afternoon.", []),
    ("loose_time", "en", "E", "logistics customer desk: POD", "You'll get the proof of delivery from me by close of business.", [("proof of delivery", "2026-11-19T17:00:00+01:00")]),
    ("loose_time", "en", "A", "startup founder replying on a forum: bug", "Will push a fix EOD.", [("push a fix", "2026-11-17T17:00:00+01:00")]),
    ("loose_time", "en", "A", "startup founder replying on a forum: bug", "Sorry, we pushed a broken build at EOD yesterday.", []),
    ("loose_time", "en", "E", "small business support: quote", "I'll send the quote over fri 5pm at the latest.", [("quote", "2026-11-20T17:00:00+01:00")]),
    ("loose_time", "en", "E", "small business support: quote", "The quote we sent on Fri 13th is still valid.", []),
    ("loose_time", "en", "A", "MSP help desk: patching", "We'll patch the server Thu 10am.", [("patch the server", "2026-11-19T10:00:00+01:00")]),
    ("loose_time", "en", "A", "MSP help desk: patching", "Can we patch the server Thu 10am?", []),
    ("loose_time", "en", "C", "events ticketing support: seating", "I'll confirm your seats by lunchtime tomorrow.", [("confirm your seats", "2026-12-10T12:00:00+01:00")]),
    ("loose_time", "en", "E", "courier service reply: redelivery", "The driver will be with you tomorrow morning.", [("driver", "2026-11-20T12:00:00+01:00")]),
    ("loose_time", "en", "B", "subscription box help: skip", "I'll process the skip by end of play today.", [("process the skip", "2026-11-20T17:00:00+01:00")]),
    ("loose_time", "en", "C", "consumer electronics forum: firmware", "We'll have the firmware link to you tonight.", [("firmware link", "2026-12-09T21:00:00+01:00")]),
    ("loose_time", "en", "C", "consumer electronics forum: firmware", "Tonight's firmware release has been postponed.", []),
    ("loose_time", "de", "E", "deutscher Provider-Support: Störung", "Ich prüfe die Störung gleich morgen früh.", [("Störung", "2026-11-20T12:00:00+01:00")]),
    ("loose_time", "de", "A", "deutscher Provider-Support: Störung", "Die Zugangsdaten schicke ich Ihnen heute bis Feierabend.", [("Zugangsdaten", "2026-11-17T17:00:00+01:00")]),
    # --- relative to another event ------------------------------------------------------------------------
    ("relative", "en", "A", "appliance repair forum: spare part", "I'll book the engineer the day after the part arrives on Thursday.", [("book the engineer", "2026-11-20T17:00:00+01:00")]),
    ("relative", "en", "A", "appliance repair forum: spare part", "The part arrived on Thursday and the engineer came the day after.", []),
    ("relative", "en", "B", "SaaS status thread: maintenance", "We'll send a summary within two hours of the maintenance window closing at 10pm on Monday.", [("summary", "2026-11-24T00:00:00+01:00")]),
    ("relative", "en", "C", "furniture retailer support: delivery", "Once the sofa lands in our warehouse on Friday, we'll deliver it within 3 working days.", [("deliver it", "2026-12-16T17:00:00+01:00")]),
    ("relative", "en", "C", "furniture retailer support: delivery", "The sofa landed in our warehouse on Friday and was delivered 3 days later.", []),
    ("relative", "en", "A", "conference organiser help desk: recordings", "Recordings will be up two days after the workshop on Wednesday.", [("recordings", "2026-11-20T17:00:00+01:00")]),
    ("relative", "en", "D", "IT support forum: migration", "I'll check in with you the morning after the migration on Tuesday.", [("check in", "2026-09-16T12:00:00+02:00")]),
    # --- hedged promises with a deadline ------------------------------------------------------------------
    ("hedged", "en", "A", "insurance claims desk reply: assessor", "I should have an answer from the assessor by Friday.", [("assessor", "2026-11-20T17:00:00+01:00")]),
    ("hedged", "en", "A", "insurance claims desk reply: assessor", "I should have asked the assessor on Friday, sorry.", []),
    ("hedged", "en", "A", "SaaS community forum: sync bug", "We hope to have the sync bug fixed by Monday.", [("sync bug", "2026-11-23T17:00:00+01:00")]),
    ("hedged", "en", "A", "SaaS community forum: sync bug", "We hoped the sync bug would be fixed by Monday, but it wasn't.", []),
    ("hedged", "en", "E", "mobile app developer reply: review", "Hopefully I can get the new build through review by Monday.", [("new build", "2026-11-23T17:00:00+01:00")]),
    ("hedged", "en", "E", "mobile app developer reply: review", "You might see the new build by Monday, but I can't promise anything.", []),
    ("hedged", "en", "C", "web agency support: staging", "The staging site ought to be back up by tomorrow afternoon.", [("staging site", "2026-12-10T17:00:00+01:00")]),
    ("hedged", "en", "B", "open-source maintainer turned vendor: release", "I expect to have the patched release out by Wednesday.", [("patched release", "2026-11-25T17:00:00+01:00")]),
    ("hedged", "en", "B", "open-source maintainer turned vendor: release", "I expected the patched release to be out by Wednesday; it is now delayed.", []),
    ("hedged", "en", "D", "banking app help: card", "Your new card should be with you by Thursday.", [("new card", "2026-09-17T17:00:00+02:00")]),
    ("hedged", "en", "D", "banking app help: card", "If your card isn't with you by Thursday, please let us know.", []),
    ("hedged", "en", "C", "hardware startup support: RMA", "We're aiming to get the RMA label to you by tomorrow.", [("RMA label", "2026-12-10T17:00:00+01:00")]),
    ("hedged", "en", "C", "hardware startup support: RMA", "I'm fairly confident we can sort the RMA before Friday.", [("RMA", "2026-12-10T17:00:00+01:00")]),
    ("hedged", "en", "E", "education platform help: grades", "With luck I'll have the grades corrected by Monday morning.", [("grades corrected", "2026-11-23T12:00:00+01:00")]),
    ("hedged", "de", "A", "deutsches Versicherungsforum: Gutachten", "Ich sollte bis Freitag eine Rückmeldung vom Gutachter haben.", [("Gutachter", "2026-11-20T17:00:00+01:00")]),
    ("hedged", "de", "A", "deutsches Versicherungsforum: Gutachten", "Wir hoffen, den Fehler bis Montag behoben zu haben.", [("Fehler", "2026-11-23T17:00:00+01:00")]),
    # --- imperative promises to the customer --------------------------------------------------------------
    ("imperative", "en", "A", "home services company reply: visit", "Expect a call from me tomorrow to arrange the visit.", [("call from me", "2026-11-18T17:00:00+01:00")]),
    ("imperative", "en", "A", "home services company reply: visit", "Expect delays tomorrow because of the rail strike.", []),
    ("imperative", "en", "A", "online course platform: certificate", "Look out for an email from us by Friday with your certificate.", [("email from us", "2026-11-20T17:00:00+01:00")]),
    ("imperative", "en", "A", "online course platform: certificate", "Look out for phishing emails pretending to be from us.", []),
    ("imperative", "en", "B", "marketplace seller reply: tracking", "Keep an eye on your inbox – the tracking number will come from me on Monday.", [("tracking number", "2026-11-23T17:00:00+01:00")]),
    ("imperative", "en", "B", "marketplace seller reply: tracking", "Keep an eye on your inbox on Monday for our newsletter.", []),
    ("imperative", "en", "C", "utilities provider help: meter", "Watch for a text from our engineer tomorrow morning.", [("text from our engineer", "2026-12-10T12:00:00+01:00")]),
    ("imperative", "en", "D", "subscription service help: box", "Look for your replacement box on Wednesday.", [("replacement box", "2026-09-16T17:00:00+02:00")]),
    ("imperative", "en", "E", "recruiting platform support: interview", "Expect the interview invite from our team by Monday.", [("interview invite", "2026-11-23T17:00:00+01:00")]),
    ("imperative", "en", "E", "recruiting platform support: interview", "Expect the invite to go to spam sometimes.", []),
    ("imperative", "de", "A", "deutscher Handwerksbetrieb: Termin", "Rechnen Sie morgen mit einem Anruf von mir.", [("Anruf", "2026-11-18T17:00:00+01:00")]),
    # --- plain promises in real phrasing ------------------------------------------------------------------
    ("plain", "en", "A", "SaaS help-centre ticket reply: greeting and sign-off", "Hi Priya,\n\nThanks for flagging this. I'll get the duplicate charge reversed by Thursday.\n\nBest,\nTom", [("duplicate charge", "2026-11-19T17:00:00+01:00")]),
    ("plain", "en", "E", "SaaS help-centre ticket reply: greeting and sign-off", "Hey Sam,\n\nJust a quick note: I'm on it and will update you first thing Monday.\n\nCheers,\nLea", [("update you", "2026-11-23T12:00:00+01:00")]),
    ("plain", "en", "A", "phone manufacturer forum: screen repair", "Your repair is booked and we'll return the phone on the 24th.", [("return the phone", "2026-11-24T17:00:00+01:00")]),
    ("plain", "en", "A", "phone manufacturer forum: screen repair", "We returned the phone on the 12th.", []),
    ("plain", "en", "C", "photo lab customer service: prints", "Your prints go out to you on Monday 14 December.", [("prints", "2026-12-14T17:00:00+01:00")]),
    ("plain", "en", "C", "photo lab customer service: prints", "Prints ordered on Monday 14 December will ship after the holidays.", []),
    ("plain", "en", "B", "developer tools forum: API keys", "I'm going to rotate your API keys early next week.", [("rotate your API keys", "2026-11-24T17:00:00+01:00")]),
    ("plain", "en", "B", "developer tools forum: API keys", "We rotate everyone's API keys early each month.", []),
    ("plain", "en", "D", "CRM vendor support: import", "Our data team will run the import again on Wednesday at 2pm.", [("import again", "2026-09-16T14:00:00+02:00")]),
    ("plain", "en", "D", "CRM vendor support: import", "Our data team ran the import again on Wednesday at 2pm.", []),
    ("plain", "en", "E", "hotel booking help: refund", "I'll chase the hotel for your refund on Monday and come back to you the same day.", [("chase the hotel", "2026-11-23T17:00:00+01:00")]),
    ("plain", "en", "E", "hotel booking help: refund", "Would you like me to chase the hotel for your refund on Monday?", []),
    ("plain", "en", "A", "cloud provider support: quota", "I'll raise your quota within the next couple of hours.", [("raise your quota", "2026-11-17T12:00:00+01:00")]),
    ("plain", "en", "A", "cloud provider support: quota", "Quota increases are normally applied within a couple of hours.", []),
    # --- negatives that look like promises ----------------------------------------------------------------
    ("negative", "en", "A", "retail support thread: conditional offer", "If you send the receipt by Friday, we can still refund you.", []),
    ("negative", "en", "A", "retail support thread: conditional offer", "If you'd prefer, we could send a courier on Thursday instead.", []),
    ("negative", "en", "A", "SaaS forum: hypothetical", "Had we known on Monday, we would have fixed it by Tuesday.", []),
    ("negative", "en", "A", "SaaS forum: hypothetical", "Ideally we'd ship this by Friday, but it depends on the vendor.", []),
    ("negative", "en", "B", "IT help desk: absence", "I'm out of the office until Monday and will reply when I'm back.", []),
    ("negative", "en", "B", "IT help desk: absence", "Our office is closed on Christmas Eve.", []),
    ("negative", "en", "C", "retail FAQ answer: policy", "We normally dispatch orders within 24 hours on working days.", []),
    ("negative", "en", "C", "retail FAQ answer: policy", "Standard delivery takes 3-5 business days.", []),
    ("negative", "en", "D", "software forum: question to customer", "Can you send us the crash log by Wednesday?", []),
    ("negative", "en", "D", "software forum: question to customer", "Let me know by Wednesday whether the new build helps.", []),
    ("negative", "en", "E", "courier help: past report", "The driver attempted delivery yesterday at 2pm.", []),
    ("negative", "en", "E", "courier help: past report", "We called you this afternoon but couldn't get through.", []),
    ("negative", "en", "A", "SaaS forum: undated promise", "We'll keep you posted as soon as we know more.", []),
    ("negative", "en", "A", "SaaS forum: undated promise", "I'll get back to you once engineering has looked at it.", []),
    ("negative", "de", "A", "deutsches Shop-Forum: Rückfragen", "Könnten Sie uns bis Freitag die Seriennummer schicken?", []),
    ("negative", "de", "A", "deutsches Shop-Forum: Rückfragen", "Falls Sie bis Montag nichts hören, melden Sie sich bitte noch einmal.", []),
    ("negative", "de", "A", "deutsches Shop-Forum: Vergangenes", "Wir haben Ihnen die Rechnung am 12.11. geschickt.", []),
    ("negative", "de", "A", "deutsches Shop-Forum: Vergangenes", "Unser Büro ist vom 24.12. bis zum 1.1. geschlossen.", []),
    # --- German numeric dates -----------------------------------------------------------------------------
    ("plain", "de", "A", "deutscher Möbelhändler: Liefertermin", "Die Ersatzteile liefern wir Ihnen bis zum 12.03.", [("Ersatzteile", "2027-03-12T17:00:00+01:00")]),
    ("plain", "de", "A", "deutscher Möbelhändler: Liefertermin", "Unser Monteur kommt am 5.1. um 10 Uhr zu Ihnen.", [("Monteur", "2027-01-05T10:00:00+01:00")]),
    ("plain", "de", "A", "deutsche Agentur: Angebot", "Das überarbeitete Angebot erhalten Sie bis zum 24.11. von mir.", [("Angebot", "2026-11-24T17:00:00+01:00")]),
    ("plain", "de", "A", "deutsche Agentur: Angebot", "Am 30.11. melde ich mich wegen der Abnahme bei Ihnen.", [("Abnahme", "2026-11-30T17:00:00+01:00")]),
    ("plain", "de", "A", "deutscher IT-Dienstleister: Wartung", "Ich rufe Sie am Donnerstag um 14 Uhr an.", [("rufe Sie", "2026-11-19T14:00:00+01:00")]),
    ("plain", "de", "A", "deutscher IT-Dienstleister: Wartung", "Sie hören bis Mittwoch von mir, wie es mit dem Server weitergeht.", [("Server", "2026-11-18T17:00:00+01:00")]),
    ("plain", "de", "E", "deutscher Onlinehändler: Umtausch", "Hallo Frau Berg,\n\ndas Umtauschetikett schicke ich Ihnen morgen zu.\n\nViele Grüße\nJan Keller", [("Umtauschetikett", "2026-11-20T17:00:00+01:00")]),
    ("plain", "de", "E", "deutscher Onlinehändler: Umtausch", "Wir haben das Umtauschetikett gestern verschickt.", []),
    ("plain", "de", "C", "deutscher Verlag: Abo", "Die Abo-Umstellung nehmen wir bis Freitag, 11.12., vor.", [("Abo-Umstellung", "2026-12-11T17:00:00+01:00")]),
    ("negative", "de", "D", "deutsche Kfz-Werkstatt: Reparatur", "Ihr Wagen ist am Mittwoch ab 15 Uhr abholbereit, ich melde mich vorher.", []),
    ("plain", "de", "D", "deutsche Kfz-Werkstatt: Reparatur", "Den Kostenvoranschlag schicke ich Ihnen innerhalb von 24 Stunden.", [("Kostenvoranschlag", "2026-09-15T09:30:00+02:00")]),
]

# Round two: written after the first round of tuning (on ``tuning_real.jsonl``) and before anything was looked at
# in ``heldout_real.jsonl`` but its figures. The first round's held-back rows then became tuning material (their
# misses were read and fixed), so every row of round two is held back: ``heldout_real2.jsonl``. New sources only.
ROWS2: list[tuple[str, str, str, str, str, list[tuple[str, str]]]] = [
    ("wait", "en", "F", "hosting provider status thread: snapshot restore", "Give our backup team 24 hours to restore the snapshot.", [("restore the snapshot", "2026-11-24T08:45:00+01:00")]),
    ("wait", "en", "F", "hosting provider status thread: snapshot restore", "Restores can take 24 hours or longer for large sites.", []),
    ("wait", "en", "G", "mobile carrier forum: number port", "Allow 2 to 3 working days for the number port to complete, and I'll confirm once it's done.", [("number port", "2026-12-21T17:00:00+01:00")]),
    ("wait", "en", "A", "electronics retailer help: laptop repair", "Please give us up to 7 days to assess the laptop.", [("assess the laptop", "2026-11-24T17:00:00+01:00")]),
    ("wait", "en", "H", "streaming service help: double charge", "Give me till Monday to sort out the double charge.", [("double charge", "2026-10-05T17:00:00+02:00")]),
    ("wait", "en", "H", "streaming service help: double charge", "It can take the bank up to a week to reverse a charge.", []),
    ("wait", "en", "B", "tour operator support: rebooking", "Hang tight until Tuesday while I rebook your flights.", [("rebook your flights", "2026-11-24T17:00:00+01:00")]),
    ("wait", "en", "C", "furniture maker support: custom frame", "Give us two weeks to build the custom frame.", [("custom frame", "2026-12-23T17:00:00+01:00")]),
    ("wait", "de", "G", "deutscher Telefonanbieter: Rufnummernmitnahme", "Bitte haben Sie bis Freitag Geduld, dann ist die Rufnummer portiert.", [("Rufnummer", "2026-12-18T17:00:00+01:00")]),
    ("wait", "de", "A", "deutscher Reparaturservice: Gerät", "Geben Sie uns bitte eine Woche für die Reparatur.", [("Reparatur", "2026-11-24T17:00:00+01:00")]),
    ("before", "en", "F", "US gift shop support: engraving", "We'll finish the engraving before Thanksgiving.", [("engraving", "2026-11-25T17:00:00+01:00")]),
    ("before", "en", "F", "US gift shop support: engraving", "Orders placed before Thanksgiving ship free.", []),
    ("before", "en", "F", "US electronics store forum: price match", "I'll apply the price match by Black Friday.", [("price match", "2026-11-27T17:00:00+01:00")]),
    ("before", "en", "F", "US electronics store forum: price match", "Did the price drop before Black Friday?", []),
    ("before", "en", "G", "courier support: holiday parcels", "Your parcel will be delivered before Christmas Eve.", [("parcel", "2026-12-23T17:00:00+01:00")]),
    ("before", "en", "G", "courier support: holiday parcels", "We can't guarantee delivery before Christmas Eve for orders placed today.", []),
    ("before", "en", "G", "software licensing help: new keys", "I'll issue the new licence keys before the New Year.", [("licence keys", "2026-12-31T17:00:00+01:00")]),
    ("before", "en", "H", "event venue support: contract", "We'll send the signed contract before Halloween.", [("signed contract", "2026-10-30T17:00:00+01:00")]),
    ("before", "en", "H", "event venue support: contract", "The venue is fully booked before Halloween.", []),
    ("before", "en", "A", "SaaS onboarding reply: workshop slides", "I'll share the slides before Thursday's session.", [("slides", "2026-11-18T17:00:00+01:00")]),
    ("before", "en", "B", "gym membership help: freeze", "We'll freeze your membership before Monday.", [("freeze your membership", "2026-11-20T17:00:00+01:00")]),
    ("before", "de", "C", "deutscher Onlineshop: Geschenkbestellung", "Wir liefern die Bestellung garantiert vor Heiligabend.", [("Bestellung", "2026-12-23T17:00:00+01:00")]),
    ("before", "de", "H", "deutsche Eventagentur: Verträge", "Die Verträge schicken wir Ihnen noch vor Freitag.", [("Verträge", "2026-10-01T17:00:00+02:00")]),
    ("period_end", "en", "H", "SaaS billing forum: annual plan credit", "We'll credit your account by the end of October.", [("credit your account", "2026-10-30T17:00:00+01:00")]),
    ("period_end", "en", "H", "SaaS billing forum: annual plan credit", "Your credit expires at the end of October.", []),
    ("period_end", "en", "G", "consultancy reply: year-end report", "You'll have the year-end report from us before the end of the year.", [("year-end report", "2026-12-31T17:00:00+01:00")]),
    ("period_end", "en", "G", "consultancy reply: year-end report", "We close the books at the end of the year.", []),
    ("period_end", "en", "H", "manufacturing supplier support: forecast", "I'll send the revised forecast by end of Q4.", [("revised forecast", "2026-12-31T17:00:00+01:00")]),
    ("period_end", "en", "D", "logistics platform help: rates", "We'll publish the new rates by the end of next month.", [("new rates", "2026-10-30T17:00:00+01:00")]),
    ("period_end", "en", "A", "marketing agency reply: campaign report", "The campaign report will be with you by month end.", [("campaign report", "2026-11-30T17:00:00+01:00")]),
    ("period_end", "en", "A", "marketing agency reply: campaign report", "Month-end reports were late last quarter.", []),
    ("period_end", "de", "H", "deutscher Steuerberater-Support: Unterlagen", "Die Unterlagen bekommen Sie bis Ende Oktober von mir.", [("Unterlagen", "2026-10-30T17:00:00+01:00")]),
    ("period_end", "de", "G", "deutscher Steuerberater-Support: Unterlagen", "Bis Jahresende stellen wir Ihnen die Rechnung aus.", [("Rechnung", "2026-12-31T17:00:00+01:00")]),
    ("loose_time", "en", "F", "SaaS admin community: password reset", "I'll reset the admin password this morning.", [("admin password", "2026-11-23T12:00:00+01:00")]),
    ("loose_time", "en", "F", "SaaS admin community: password reset", "We reset the admin password this morning.", []),
    ("loose_time", "en", "B", "print shop reply: proof", "Proof coming your way by COB.", [("proof", "2026-11-20T17:00:00+01:00")]),
    ("loose_time", "en", "E", "accounting firm helpdesk: payroll", "I'll run the payroll correction tonight.", [("payroll correction", "2026-11-19T21:00:00+01:00")]),
    ("loose_time", "en", "C", "telco support forum: engineer visit", "Our engineer will be there mid-morning tomorrow.", [("engineer", "2026-12-10T12:00:00+01:00")]),
    ("loose_time", "en", "C", "telco support forum: engineer visit", "Our engineer was there mid-morning yesterday.", []),
    ("loose_time", "en", "G", "web shop support: voucher", "You'll get the voucher code by end of business today.", [("voucher code", "2026-12-16T17:00:00+01:00")]),
    ("loose_time", "en", "D", "IT service desk: laptop collection", "Laptop will be ready for collection by lunchtime.", [("laptop", "2026-09-14T12:00:00+02:00")]),
    ("loose_time", "en", "A", "freelancer reply: mockups", "Will have the mockups over to you first thing Thursday.", [("mockups", "2026-11-19T12:00:00+01:00")]),
    ("loose_time", "en", "A", "freelancer reply: mockups", "Mockups went over first thing Thursday last week.", []),
    ("loose_time", "en", "E", "bank support: card block", "I'll unblock the card before close of business.", [("unblock the card", "2026-11-19T17:00:00+01:00")]),
    ("loose_time", "de", "F", "deutscher Hoster: Wartung", "Ich spiele das Update heute Abend ein.", [("Update", "2026-11-23T20:00:00+01:00")]),
    ("loose_time", "de", "E", "deutscher Hoster: Wartung", "Das Zertifikat erneuern wir morgen Vormittag.", [("Zertifikat", "2026-11-20T12:00:00+01:00")]),
    ("relative", "en", "A", "kitchen fitter support: worktop", "We'll fit the worktop two days after the cabinets go in on Thursday.", [("worktop", "2026-11-21T17:00:00+01:00")]),
    ("relative", "en", "C", "conference platform: recording", "I'll upload the recording the morning after the webinar on Thursday.", [("recording", "2026-12-11T12:00:00+01:00")]),
    ("relative", "en", "G", "ERP vendor support: cutover", "We'll check the ledgers within 24 hours of the cutover on Friday at 6pm.", [("ledgers", "2026-12-19T18:00:00+01:00")]),
    ("relative", "en", "B", "car dealer service desk: inspection", "I'll call you the day after the car comes in on Monday.", [("call you", "2026-11-24T17:00:00+01:00")]),
    ("relative", "en", "B", "car dealer service desk: inspection", "The car came in on Monday and we called you the day after.", []),
    ("relative_undated", "en", "D", "printing company support: reprint", "The reprint ships three business days after you approve the proof.", []),
    ("relative_undated", "en", "A", "appliance repair forum: undated part", "I'll ship it the day after the part arrives.", []),
    ("hedged", "en", "A", "ISP community forum: line upgrade", "We should hopefully have your line upgraded by Friday.", [("line upgraded", "2026-11-20T17:00:00+01:00")]),
    ("hedged", "en", "F", "SaaS support: feature flag", "I'd hope to have the flag enabled on your account by Wednesday.", [("flag enabled", "2026-11-25T17:00:00+01:00")]),
    ("hedged", "en", "F", "SaaS support: feature flag", "I'd have enabled the flag by Wednesday if I'd known.", []),
    ("hedged", "en", "H", "web agency: site launch", "All being well, we'll launch the site on Tuesday.", [("launch the site", "2026-10-06T17:00:00+02:00")]),
    ("hedged", "en", "H", "web agency: site launch", "All being well, the site launched on Tuesday.", []),
    ("hedged", "en", "C", "repair shop reply: finish", "The repair should be finished by Friday.", [("repair", "2026-12-11T17:00:00+01:00")]),
    ("hedged", "en", "C", "repair shop reply: finish", "The repair should have been finished by Friday.", []),
    ("hedged", "en", "E", "property management help: boiler", "I'm confident the boiler will be fixed by Monday.", [("boiler", "2026-11-23T17:00:00+01:00")]),
    ("hedged", "en", "G", "developer platform forum: quota", "We're looking to have the quota increase approved by Friday.", [("quota increase", "2026-12-18T17:00:00+01:00")]),
    ("hedged", "en", "G", "developer platform forum: quota", "We're looking into why the quota increase wasn't approved on Friday.", []),
    ("hedged", "de", "B", "deutscher Versandhändler: Ware", "Wir rechnen damit, die Ware bis Mittwoch zu verschicken.", [("Ware", "2026-11-25T17:00:00+01:00")]),
    ("hedged", "de", "H", "deutscher Softwarehersteller: Update", "Das Update sollte bis Montag verfügbar sein.", [("Update", "2026-10-05T17:00:00+02:00")]),
    ("imperative", "en", "A", "online bank help: new PIN", "Watch your post for the new PIN from us next week.", [("new PIN", "2026-11-27T17:00:00+01:00")]),
    ("imperative", "en", "F", "fashion retailer support: exchange", "Expect your exchange to land on Wednesday.", [("exchange", "2026-11-25T17:00:00+01:00")]),
    ("imperative", "en", "F", "fashion retailer support: exchange", "Expect longer delivery times on Wednesday due to the strike.", []),
    ("imperative", "en", "H", "ISP help: technician window", "You can expect our technician on Monday between 8 and 12.", [("technician", "2026-10-05T12:00:00+02:00")]),
    ("imperative", "en", "B", "hosting support: corrected invoice", "Look out for the corrected invoice in your inbox on Monday.", [("corrected invoice", "2026-11-23T17:00:00+01:00")]),
    ("imperative", "en", "B", "hosting support: corrected invoice", "Look out for suspicious invoices in your inbox.", []),
    ("imperative", "de", "G", "deutscher Energieversorger: Rückruf", "Erwarten Sie unseren Rückruf morgen Vormittag.", [("Rückruf", "2026-12-17T12:00:00+01:00")]),
    ("plain", "en", "E", "marketplace seller Q&A: custom print", "Hi Jo,\n\nthanks for bearing with us. We'll dispatch the custom print on Monday.\n\nKind regards,\nMaya", [("custom print", "2026-11-23T17:00:00+01:00")]),
    ("plain", "en", "G", "SaaS ticket reply: SSO rollout", "Our engineers are rolling out the SSO fix on the 18th.", [("SSO fix", "2026-12-18T17:00:00+01:00")]),
    ("plain", "en", "G", "SaaS ticket reply: SSO rollout", "Our engineers rolled out the SSO fix on the 14th.", []),
    ("plain", "en", "H", "travel insurer help: claim payment", "I'll transfer the claim payment on Oct 7.", [("claim payment", "2026-10-07T17:00:00+02:00")]),
    ("plain", "en", "H", "travel insurer help: claim payment", "The claim payment was transferred on Oct 7.", []),
    ("plain", "en", "A", "hardware vendor forum: replacement unit", "Your replacement unit ships tomorrow.", [("replacement unit", "2026-11-18T17:00:00+01:00")]),
    ("plain", "en", "A", "hardware vendor forum: replacement unit", "Replacement units ship within 5 days of approval.", []),
    ("plain", "en", "D", "B2B support: API sandbox", "We'll have the sandbox ready for you on 21/09.", [("sandbox", "2026-09-21T17:00:00+02:00")]),
    ("plain", "en", "C", "B2B support: API sandbox", "Sandbox access expires on 21/12.", []),
    ("plain", "en", "E", "restaurant booking platform help: refund", "I'll sort the refund out by Monday at the latest.", [("refund", "2026-11-23T17:00:00+01:00")]),
    ("plain", "en", "E", "restaurant booking platform help: refund", "Sort the refund out by Monday at the latest, please.", []),
    ("plain", "de", "F", "deutscher Elektronikhändler: Austauschgerät", "Das Austauschgerät geht am 25.11. an Sie raus.", [("Austauschgerät", "2026-11-25T17:00:00+01:00")]),
    ("plain", "de", "F", "deutscher Elektronikhändler: Austauschgerät", "Das Austauschgerät ging am 20.11. an Sie raus.", []),
    ("plain", "de", "C", "deutscher Webhoster: Postfachumzug", "Wir migrieren Ihr Postfach am 14.12. um 18 Uhr.", [("Postfach", "2026-12-14T18:00:00+01:00")]),
    ("plain", "de", "A", "deutscher Webhoster: Postfachumzug", "Könnten wir die Migration auf den 14.12. verschieben?", []),
    ("plain", "de", "D", "deutsches Ticketsystem: Rückfrage", "Ich kümmere mich gleich morgen früh darum.", [("kümmere", "2026-09-15T12:00:00+02:00")]),
    ("plain", "de", "D", "deutsches Ticketsystem: Rückfrage", "Ich habe mich heute früh darum gekümmert.", []),
    ("negative", "en", "A", "SaaS forum: conditional look", "If the logs arrive by Thursday, I could take a look on Friday.", []),
    ("negative", "en", "A", "SaaS forum: conditional look", "Were the fix ready, we would deploy it tomorrow.", []),
    ("negative", "en", "C", "retailer help: scheduling questions", "Would Friday at 10am suit you for the call?", []),
    ("negative", "en", "C", "retailer help: scheduling questions", "Shall I call you tomorrow morning instead?", []),
    ("negative", "en", "G", "IT helpdesk: what already happened", "I already sent the new credentials this morning.", []),
    ("negative", "en", "G", "IT helpdesk: what already happened", "We tried to call you at 11 but the line was busy.", []),
    ("negative", "en", "B", "publisher support: maybe and absence", "In theory we could have the reprint out by Monday.", []),
    ("negative", "en", "B", "publisher support: maybe and absence", "I'm off on Monday and Tuesday, back on Wednesday.", []),
    ("negative", "en", "F", "SaaS status page: maintenance notice", "Maintenance is scheduled for Thursday at 22:00.", []),
    ("negative", "en", "F", "SaaS status page: maintenance notice", "The maintenance window ran until 2am on Sunday.", []),
]


def main() -> None:
    held, tune = [], []
    for index, (klass, lang, ref, source, text, expected) in enumerate(ROWS, 1):
        heldout = hashlib.sha1(source.encode("utf-8")).digest()[0] % 2 == 0
        row = {"id": f"r{index:03d}", "split": "heldout-real" if heldout else "tune-real", "class": klass,
               "lang": lang, "sent_at": REF[ref], "text": text, "source": source,
               "expected": [{"text_contains": contains, "due": due} for contains, due in expected]}
        (held if heldout else tune).append(row)
    for name, rows in (("heldout_real.jsonl", held), ("tuning_real.jsonl", tune)):
        with (HERE / name).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    second = [{"id": f"s{index:03d}", "split": "heldout-real2", "class": klass, "lang": lang, "sent_at": REF[ref],
               "text": text, "source": source,
               "expected": [{"text_contains": contains, "due": due} for contains, due in expected]}
              for index, (klass, lang, ref, source, text, expected) in enumerate(ROWS2, 1)]
    assert not {row[3] for row in ROWS} & {row[3] for row in ROWS2}, "round two has new sources only"
    with (HERE / "heldout_real2.jsonl").open("w", encoding="utf-8") as handle:
        for row in second:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(held)} held-back rows, {len(tune)} tuning rows; round two: {len(second)} held-back rows")


if __name__ == "__main__":
    main()
