#!/usr/bin/env python3
"""Generate a development set: synthetic contact-center calls with reference transcripts, for throughput and WER.

sample_data/ is a small demo; this set is larger and more varied: many TTS voices from three engines at several
speaking rates, multi-minute calls with many short turns, slot values (names, digits, dates, amounts, emails,
addresses), uneven pauses, overlapping backchannels, per-file noise (clean, 30, 20, 12 dB SNR; white, pink or mains
hum) and per-speaker levels. Files: telephony calls (8 kHz mu-law stereo WAV, agent left, customer right: the default
role map), wideband calls (16 kHz stereo WAV or FLAC) and mono voicemails (16 kHz MP3, FLAC or WAV).
The set is not committed (default output .bench/devset, which git ignores); the same --seed gives the same set on the
same machine (TTS builds differ between machines).

manifest.json has sample_data's schema (airwave.references/v1) plus, per call, "turns" (role, start, end, text; in
call time, by start) and "meta" (voices, noise, SNR). Numbers are written as words, as the TTS speaks them.

Needs the project venv (PyAV, numpy) and these Debian packages:

    apt-get install -y flite espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts

    .venv/bin/python -m tests.support.make_dev_set [.bench/devset] [--seed 0] [--minutes 40]   (from the checkout)
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .make_sample_data import encode, tts

APT = "flite espeak-ng festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts"
# Voices per engine. flite: every built-in voice but awb_time (a talking clock that only says times). festival: the
# English voices Debian bookworm packages (the kallpc8k/kdlpc8k packages are the same speakers at 8 kHz).
FLITE = ["kal", "awb", "kal16", "rms", "slt"]
FESTIVAL = ["voice_kal_diphone", "voice_ked_diphone", "voice_cmu_us_slt_arctic_hts"]
# espeak-ng: accents x voice variants. British is "en": espeak-ng ignores a +variant after "en-gb". Dropped:
# en-gb-scotland+f4, which tiny.en could barely follow even on clean speech.
ESPEAK = [
    f"{accent}+{variant}"
    for accent in ("en-us", "en", "en-gb-scotland", "en-029", "en-gb-x-rp", "en-us-nyc")
    for variant in ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4")
]
ESPEAK.remove("en-gb-scotland+f4")
POOLS = {"flite": FLITE, "espeak-ng": ESPEAK, "festival": FESTIVAL}
ENGINE_SHARE = {"espeak-ng": 0.4, "flite": 0.35, "festival": 0.25}  # how often each engine speaks a part
# Speaking rates, x the engine's usual pace (espeak-ng: x 150 words a minute). Over 180 wpm several espeak-ng
# variants turned to mush for tiny.en.
SPEEDS = {"flite": (0.9, 1.0, 1.1), "espeak-ng": (1.0, 1.1, 1.2), "festival": (0.9, 1.0, 1.1)}
IVR = ("espeak-ng", "en-us", 1.1)  # the recorded notice at the start of some calls: a fixed machine voice
# File kinds in turn: (kind, extension). tel: 8 kHz mu-law stereo; wb: 16 kHz stereo; vm: 16 kHz mono voicemail.
CYCLE = [
    ("tel", "wav"),
    ("vm", "mp3"),
    ("wb", "flac"),
    ("vm", "flac"),
    ("tel", "wav"),
    ("vm", "wav"),
    ("tel", "wav"),
    ("wb", "wav"),
    ("vm", "mp3"),
]
CODECS = {
    ("tel", "wav"): ("wav", "pcm_mulaw", "s16"),
    ("wb", "wav"): ("wav", "pcm_s16le", "s16"),
    ("wb", "flac"): ("flac", "flac", "s16"),
    ("vm", "wav"): ("wav", "pcm_s16le", "s16"),
    ("vm", "flac"): ("flac", "flac", "s16"),
    ("vm", "mp3"): ("mp3", "libmp3lame", "s16p"),
}
# A stereo call's target length, in this order (cycling), so even a small set has a six-minute call; mostly short
# ones, so more calls (and voices) fit in the set.
CALL_MINUTES = (2, 1, 6, 1.5, 3, 1, 4, 2.5, 1.5)
VM_MINUTES = (0.3, 1.0)  # a voicemail's
S_PER_WORD = 0.36  # rough TTS pace, only to size a call before it is spoken

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
ORD = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
ORD += [f"twenty {o}" for o in ORD[:9]] + ["thirtieth", "thirty first"]
MONTHS = ("January February March April May June July August September October November December").split()
FIRST = (
    "Maria James Aisha Robert Linda Michael Priya David Susan Carlos Emily Daniel Grace Thomas Fatima Kevin "
    "Olivia Brian Hannah Peter Sofia George Rachel Samuel Nora Victor Julia Martin Chloe Anthony"
).split()
LAST = (
    "Lopez Smith Khan Brown Miller Garcia Patel Wilson Taylor Moore Nguyen Clark Lewis Walker Young Hughes "
    "Murphy Turner Campbell Ward Foster Reed Bennett Gray Palmer Fisher Hayes Porter Walsh Kelly"
).split()
STREETS = "Maple Oak Cedar Elm Willow Park Lake Hill River Church Mill Station Spring Meadow Highland".split()
CITIES = "Springfield Riverside Fairview Georgetown Franklin Greenville Bristol Clinton Madison Salem".split()
COMPANIES = (
    "Northwind Energy",
    "Bluebell Mobile",
    "Summit Bank",
    "Harbor Insurance",
    "Brightline Broadband",
    "Evergreen Water",
    "Atlas Travel",
    "Cobalt Electronics",
)


def words(n: int) -> str:
    """0..999999 as spoken words: 342 -> 'three hundred forty two' (no hyphens, like sample_data)."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + (f" {ONES[n % 10]}" if n % 10 else "")
    if n < 1000:
        return f"{ONES[n // 100]} hundred" + (f" {words(n % 100)}" if n % 100 else "")
    return f"{words(n // 1000)} thousand" + (f" {words(n % 1000)}" if n % 1000 else "")


def slots(rng: np.random.Generator) -> dict:
    """Fresh values for one call, all spelled the way the TTS is to say them."""

    def digits(*groups: int) -> str:  # 'five five five, two three four': grouped as people read numbers out
        return ", ".join(" ".join(ONES[d] for d in rng.integers(0, 10, g)) for g in groups)

    def date() -> str:
        m, d = MONTHS[rng.integers(12)], ORD[rng.integers(28)]
        return f"the {d} of {m}" if rng.random() < 0.5 else f"{m} {d}"

    def amount() -> str:
        dollars, cents = int(rng.integers(5, 900)), int(rng.choice([0, 0, 25, 50, 99, rng.integers(1, 99)]))
        return f"{words(dollars)} dollars" + (f" and {words(cents)} cents" if cents else "")

    first, last, c = rng.choice(FIRST), rng.choice(LAST), rng.choice(COMPANIES)
    hour = int(rng.integers(1, 12))
    return dict(
        first=first,
        name=f"{first} {last}",
        agent=rng.choice(FIRST),
        sup=rng.choice(FIRST),
        company=c,
        relative=rng.choice(["husband", "wife", "son", "daughter", "partner"]),
        acct=digits(4, 4),
        phone=digits(3, 3, 4),
        card4=digits(4),
        zip=digits(5),
        ref=digits(3, 3),
        order=digits(4, 3),
        amount=amount(),
        amount2=amount(),
        date=date(),
        date2=date(),
        months=words(int(rng.integers(2, 25))),
        day=rng.choice(["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]),
        time=f"{words(hour)} "
        + rng.choice(["o'clock", "thirty", "fifteen", "forty five"])
        + " in the "
        + ("morning" if hour >= 8 else "afternoon"),
        dob=f"the {ORD[rng.integers(28)]} of {MONTHS[rng.integers(12)]}, nineteen {words(int(rng.integers(50, 100)))}",
        email=f"{first.lower()} dot {last.lower()} at "
        + rng.choice(["example", "mailbox", "homemail", "postbox"])
        + " dot "
        + rng.choice(["com", "net", "org"]),
        address=f"{words(int(rng.integers(2, 2000)))} {rng.choice(STREETS)} {rng.choice(['Street', 'Road', 'Avenue'])}",
        city=rng.choice(CITIES),
    )


# Scenarios: the customer's problem, the agent's questions with answers, a long explanation, the fix. One is picked
# per call (and more for long calls), the alternatives and slot values by the RNG, so no two calls read the same.
def sc(dept, problem, ask, explain, resolve):
    return dict(dept=dept, problem=problem, ask=ask, explain=explain, resolve=resolve)


SCENARIOS = {
    "double_charge": sc(
        "billing",
        [
            "I'm calling because I was charged twice this month. I can see two payments of {amount} on my bank statement, "
            "one on {date} and another one on {date2}.",
            "Hi, I think I paid the same bill twice and I'd like my money back.",
        ],
        [
            (
                "Did you pay by card or by direct debit?",
                "The first one by card, and then the direct debit took it again.",
            ),
            ("When did you notice the second payment?", "This morning, when I checked my banking app."),
        ],
        [
            "I can see what happened. When your plan renewed, the system set up a direct debit automatically, so the "
            "payment was collected again even though you had already paid by card. I'm sorry, that should not happen."
        ],
        [
            "I've issued a refund of {amount}. It should reach your account within five working days, and your reference "
            "number is {ref}.",
            "The refund is on its way, and I've cancelled the direct debit so it won't happen again.",
        ],
    ),
    "card_payment": sc(
        "payments",
        [
            "Hello, I'd like to pay my bill by card, please.",
            "I got a reminder letter and I want to pay the balance today.",
        ],
        [
            ("Which card would you like to use?", "My debit card. The last four digits are {card4}."),
            ("How much would you like to pay today?", "The full balance, please. I think it's {amount}."),
        ],
        [
            "Your balance is {amount}. I'll take the payment now. For security, I'll transfer you to our automated "
            "system to enter the card details, and then you'll come back to me."
        ],
        [
            "The payment of {amount} has gone through. Your receipt number is {ref}.",
            "All done, the balance is now zero.",
        ],
    ),
    "address_change": sc(
        "accounts",
        [
            "Hi, I moved house last month and I need to update my address.",
            "I'm calling to change the address on my account.",
        ],
        [
            ("What's the new address?", "It's {address}, {city}, and the zip code is {zip}."),
            ("From what date should we use the new address?", "From {date}, please."),
        ],
        [
            "I've updated the address. Any letters already printed may still go to the old address for a week or two, "
            "but everything after that will come to {address}."
        ],
        ["That's done. You'll get a confirmation letter at the new address within a few days."],
    ),
    "email_invoice": sc(
        "billing",
        ["I never received my invoice by email this month.", "Hello, my invoices have stopped arriving in my inbox."],
        [
            ("Which email address should we use?", "Please send it to {email}."),
            ("Have you checked your spam folder?", "Yes, I looked there too, and it isn't there."),
        ],
        [
            "It looks like the email address on file had a typo in it, so the last three invoices bounced back to us. "
            "I've corrected it now."
        ],
        ["I've sent the invoice again. It should be with you in a few minutes."],
    ),
    "internet_outage": sc(
        "technical support",
        [
            "My internet has been down since yesterday evening, and I work from home, so this is really urgent.",
            "Hi, none of the lights on my router are green and I have no connection at all.",
        ],
        [
            (
                "Have you tried restarting the router?",
                "Yes, twice. It comes back on, but the internet light stays red.",
            ),
            ("Is it only the wifi, or a cable connection as well?", "Both. Even the laptop on the cable has nothing."),
            ("What is the address of the service?", "{address}, in {city}."),
        ],
        [
            "There is a fault on the line in your area. Our engineers found a damaged cable near the exchange, and they "
            "are working on it now. The current estimate is that service will be back by {time} tomorrow."
        ],
        [
            "I've linked your account to the fault, so you'll get a text message as soon as it's fixed, and I've added "
            "a credit of {amount} for the lost days."
        ],
    ),
    "cancel_subscription": sc(
        "customer retention",
        ["I'd like to cancel my subscription at the end of this month.", "I want to close my account, please."],
        [
            ("May I ask why you'd like to cancel?", "It's just too expensive for what I use."),
            ("Are you aware there are {months} months left on your contract?", "No, I thought it had already ended."),
        ],
        [
            "I understand. Before you go, I can offer you our basic plan for {amount} a month, which keeps the same "
            "service but without the extras you don't use. There is no fee to switch."
        ],
        [
            "I've processed the cancellation. Your service will end on {date}, and you will get a final bill after that.",
            "I've moved you to the basic plan from your next bill.",
        ],
    ),
    "missing_delivery": sc(
        "deliveries",
        [
            "My order was supposed to arrive on {date}, but it still hasn't come.",
            "Hi, I'm calling about a parcel that never arrived.",
        ],
        [
            ("Do you have the order number?", "Yes, it's {order}."),
            ("Was anyone at home on the delivery day?", "Yes, I was home all day and nobody came to the door."),
        ],
        [
            "The tracking shows the parcel was scanned at the local depot on {date2} and then marked as delivered, but "
            "there is no photo and no signature. That usually means it was delivered to the wrong address."
        ],
        [
            "I've ordered a replacement free of charge, and it should arrive on {day}. If the first parcel turns up, you "
            "can keep it or send it back, whichever you prefer."
        ],
    ),
    "refund_request": sc(
        "returns",
        [
            "I sent back a jacket three weeks ago and I still haven't got my refund.",
            "I returned an item and I'm waiting for the money.",
        ],
        [
            ("Do you have the return reference?", "It's {ref}."),
            ("Did you get a receipt from the post office?", "Yes, I have it here. It was posted on {date}."),
        ],
        [
            "The warehouse received the return on {date2}, but it wasn't matched to your order because the label was "
            "damaged. I've matched it manually now."
        ],
        ["Your refund of {amount} has been approved and will be back on your card within three to five days."],
    ),
    "password_reset": sc(
        "online services",
        [
            "I can't log in to my online account. It says my account is locked.",
            "Hi, I forgot my password and now I'm locked out.",
        ],
        [
            ("Which email address do you use to log in?", "{email}."),
            ("Did you try the forgotten password link?", "Yes, but the email never arrives."),
        ],
        [
            "Your account was locked after five wrong attempts, which is a security measure. I've unlocked it, and I'm "
            "sending a reset link to your email address. The link works for thirty minutes."
        ],
        ["You should have the email now. Once you've set a new password, you can log in as normal."],
    ),
    "plan_upgrade": sc(
        "sales",
        [
            "I'd like to upgrade my phone plan. I keep running out of data.",
            "I'm interested in a faster broadband package.",
        ],
        [
            ("How much data do you use in a typical month?", "Around {months} gigabytes, I think, maybe a bit more."),
            ("Would you like to keep your current number?", "Yes, definitely."),
        ],
        [
            "The best option for you is the unlimited plan at {amount} a month. It includes unlimited calls and texts, "
            "and you can use your allowance abroad in most countries at no extra cost."
        ],
        [
            "I've upgraded your plan. The change takes effect tonight, and your first bill on the new plan will be on "
            "{date}."
        ],
    ),
    "roaming_charges": sc(
        "billing",
        [
            "My last bill was much higher than usual, it's {amount}.",
            "I was charged for roaming when I was on holiday and I don't understand why.",
        ],
        [
            ("Which country were you travelling in?", "We were in Switzerland for a week."),
            ("Did you use mobile data while you were there?", "Only for maps, a couple of times."),
        ],
        [
            "Switzerland isn't part of the roaming zone included in your plan, so data there is charged per megabyte. "
            "You should have received a text message when you arrived, but I can see it wasn't sent."
        ],
        ["Because the warning message failed, I've refunded the roaming charges of {amount2} as a one-off credit."],
    ),
    "appointment": sc(
        "appointments",
        [
            "I need to book an appointment for an engineer to come and look at my boiler.",
            "I'd like to move my appointment to another day, please.",
        ],
        [
            ("What day would suit you?", "{day}, if possible, in the morning."),
            ("Is there a phone number the engineer can call on the day?", "Yes, {phone}."),
        ],
        [
            "I have a slot on {day} between eight and twelve, or on {date} in the afternoon. The engineer will call you "
            "about thirty minutes before they arrive."
        ],
        ["You're booked in for {day}, and I've sent a confirmation to {email}."],
    ),
    "insurance_claim": sc(
        "claims",
        [
            "I'd like to make a claim on my home insurance. A pipe burst in the kitchen and flooded the floor.",
            "I had a car accident on {date} and I need to report it.",
        ],
        [
            ("When did it happen?", "On {date}, early in the morning."),
            ("Is anyone hurt?", "No, thankfully nobody was hurt."),
            ("Do you have photos of the damage?", "Yes, I took a lot of pictures on my phone."),
        ],
        [
            "I've opened a claim for you. An assessor will contact you within two working days to arrange a visit. "
            "Please keep any receipts for emergency repairs, because we can reimburse those. Your excess is {amount}."
        ],
        ["Your claim number is {ref}. You can upload the photos on our website using that number."],
    ),
    "lost_card": sc(
        "card services",
        [
            "I think I lost my bank card. I can't find it anywhere.",
            "My wallet was stolen this afternoon, with my credit card in it.",
        ],
        [
            ("When did you last use the card?", "Yesterday, at the supermarket."),
            ("Can you confirm the last four digits of the card?", "{card4}."),
        ],
        [
            "I've blocked the card, so nobody can use it. I can see no transactions since yesterday, so nothing has been "
            "taken. A new card will arrive by post within five working days, with a new number."
        ],
        ["Your new PIN will come in a separate letter a day or two after the card."],
    ),
    "loan_payment_date": sc(
        "lending",
        [
            "I'd like to change the date my loan payment comes out. My salary now arrives later in the month.",
            "Hi, can I move my monthly payment date?",
        ],
        [
            ("Which date would you like instead?", "{date}, if that works."),
            ("Is the payment still coming from the same bank account?", "Yes, the same account."),
        ],
        [
            "I can change it. Because the next payment is due in less than ten days, the change will apply from the "
            "month after, so the next payment of {amount} will still come out on the old date."
        ],
        ["That's updated. You'll get a new payment schedule by email at {email}."],
    ),
    "technician_complaint": sc(
        "customer relations",
        [
            "I want to make a complaint. The technician was supposed to come on {date} and nobody turned up.",
            "I took a day off work to wait for your engineer and nobody came, and nobody called.",
        ],
        [
            (
                "Did you receive a text message about the appointment?",
                "I got one the day before confirming it, and then nothing.",
            ),
            (
                "Would you like to book a new appointment?",
                "Yes, but I need to be sure someone will actually come this time.",
            ),
        ],
        [
            "I'm really sorry. The technician's schedule was changed that morning and your appointment was dropped "
            "without anyone telling you. That's not acceptable, and I've raised it with the field team."
        ],
        [
            "I've booked the first slot on {day}, marked as a priority, and added {amount2} to your account for the "
            "inconvenience."
        ],
    ),
    "meter_reading": sc(
        "metering",
        [
            "I got an estimated bill of {amount}, which is way too high. I'd like to give you a meter reading.",
            "Hi, I want to submit my electricity meter reading.",
        ],
        [
            ("What's the reading on the meter?", "It says {order}."),
            ("What's the serial number on the meter?", "{acct}."),
        ],
        [
            "Thanks. With that reading, your actual use is much lower than the estimate. I'll cancel the estimated bill "
            "and send a new one based on the real reading."
        ],
        ["The new bill will be about {amount2}. You'll receive it within three days."],
    ),
    "warranty_repair": sc(
        "repairs",
        [
            "My laptop stopped charging and it's still under warranty.",
            "The screen on my tablet has started flickering, and I bought it on {date}.",
        ],
        [
            ("Do you have the serial number?", "Yes, it's {order}."),
            ("Has the device been dropped or damaged?", "No, never."),
        ],
        [
            "That's covered by the warranty. We'll send you a prepaid box. Please back up your files first, because the "
            "repair may reset the device. The repair usually takes about seven working days."
        ],
        ["The box will arrive on {day}, and your repair number is {ref}."],
    ),
}

GREET = [
    "Thank you for calling {company}, my name is {agent}. How can I help you today?",
    "Good morning, {company} {dept}, this is {agent} speaking.",
    "Hello, you're through to the {dept} team at {company}. My name is {agent}, how may I help?",
    "Hi, thanks for holding. This is {agent}. What can I do for you today?",
    "Good afternoon and welcome to {company}. You're speaking with {agent}.",
]
NOTICE = [
    "This call may be recorded for quality and training purposes.",
    "Calls are recorded to help us improve our service.",
    "Please note that this call is being recorded.",
]
IDENT = [
    ("Can I take your full name, please?", "name"),
    ("Could you give me your account number?", "acct"),
    ("And the phone number on the account?", "phone"),
    ("Can you confirm your date of birth?", "dob"),
    ("What's the zip code on the account?", "zip"),
    ("What's the email address we have for you?", "email"),
    ("And the first line of your address?", "address"),
]
ANSWER = ["It's {x}.", "{x}.", "Sure, it's {x}.", "Yes, it's {x}.", "Let me see. It's {x}."]
CONFIRM = ["Yes.", "That's right.", "Correct.", "Yes, that's it."]
VERIFIED = [
    "Thank you, {first}, that's all verified.",
    "Perfect, I've found your account.",
    "Great, thank you.",
    "Thanks. I have your account here now.",
]
HOLD = [
    "Let me look into that for you. Could you hold for a moment, please?",
    "I need to check a few things. Is it okay if I put you on hold for a minute?",
    "Bear with me while I check the system.",
]
BACK = ["Thank you for holding.", "Thanks for waiting.", "Sorry about the wait."]
SHORT = [
    "Okay.",
    "Sure.",
    "Right, thank you.",
    "Great.",
    "Okay, thank you.",
    "All right.",
    "Perfect.",
    "I see.",
    "Yes, please.",
    "Thanks.",
    "That's great, thank you so much.",
    "Okay, that makes sense.",
]
BACKCHANNEL = ["Okay.", "Right.", "Yes.", "I see.", "Sure."]
SECOND = [
    "While I have you, there's one more thing.",
    "Actually, I also have another question.",
    "Oh, and one more thing, if that's okay.",
]
ELSE = [
    "Is there anything else I can help you with today?",
    "Is there anything else?",
    "Anything else I can do for you?",
]
NO_MORE = ["No, that's everything. Thank you.", "No, that's all.", "No, thank you, you've been very helpful."]
BYE_AGENT = [
    "Thank you for calling, {first}. Have a good day.",
    "You're welcome. Take care, goodbye.",
    "Thanks for your patience today. Goodbye.",
]
BYE_CUST = ["You too. Bye.", "Thanks, bye.", "Goodbye."]
VM_OPEN = [
    "Hi, this is {name}, calling for the {dept} team.",
    "Hello, my name is {name}, I'm a customer of {company}.",
    "Good morning, this message is for {agent} in {dept}.",
    "Hi, it's {name} again, I called earlier today.",
]
VM_DETAIL = [
    "My account number is {acct}.",
    "You can call me back on {phone}.",
    "I'm home after {time}.",
    "Or you can email me at {email}.",
    "The reference number I was given last time was {ref}.",
    "The address on the account is {address}, {city}.",
    "My date of birth is {dob}, if you need it.",
    "I already called about this on {date2}, but nobody got back to me.",
    "Please call me back as soon as you can, it's quite urgent.",
    "If I don't answer, just leave a message.",
]
VM_CLOSE = ["Thanks, bye.", "Thank you, I look forward to hearing from you.", "Okay, that's it. Goodbye."]


def unhello(text: str) -> str:
    """The problem line without its 'Hi, ': for a second issue, or after a voicemail's own greeting."""
    return re.sub(r"^(Hi|Hello), (\w)", lambda m: m[2].upper(), text)


def plan_call(rng: np.random.Generator, scen: str, more, minutes: float, s: dict) -> list[dict]:
    """A two-party call of about `minutes` about `scen`, and `more()` further scenarios while time is left: the turns
    in order, each {who, text, gap (s after it), over (None, or where in the previous turn it starts)}."""
    turns: list[dict] = []
    pick = lambda xs: xs[rng.integers(len(xs))]  # noqa: E731

    def say(who, text, gap=None):
        gap = gap if gap is not None else (rng.uniform(0.2, 0.9) if rng.random() < 0.8 else rng.uniform(0.9, 2.5))
        text = text.format(**s)
        listener = cust if role(who) == "agent" else agent  # who may say "Okay." while this turn is spoken
        turns.append(dict(who=who, text=text[0].upper() + text[1:], gap=float(gap), over=None, listener=listener))

    agent, cust = "agent", "customer"
    s["dept"] = SCENARIOS[scen]["dept"]  # the greeting names the department
    est = lambda: sum(len(t["text"].split()) * S_PER_WORD + t["gap"] for t in turns)  # noqa: E731
    if rng.random() < 0.5:
        say("ivr", pick(NOTICE))
    say(agent, pick(GREET))
    for i in range(99):
        c = SCENARIOS[scen if i == 0 else more()]
        s["dept"] = c["dept"]
        problem = pick(c["problem"])
        if i:  # a second issue in the same call: no second hello
            problem = pick(SECOND) + " " + unhello(problem)
            fresh = slots(rng)  # new amounts, dates and numbers: a second issue has its own
            s.update({k: fresh[k] for k in ("amount", "amount2", "date", "date2", "ref", "order", "day", "time")})
        say(cust, problem)
        if i == 0:  # identification: more questions in longer calls, some read back
            for j in rng.permutation(len(IDENT))[: 1 + int(minutes > 2) + int(minutes > 4)]:
                q, slot = IDENT[j]
                say(agent, q)
                say(cust, pick(ANSWER).format(x=s[slot]))
                if slot in ("acct", "phone") and rng.random() < 0.5:
                    say(agent, f"Let me read that back. {s[slot]}?")
                    say(cust, pick(CONFIRM))
            say(agent, pick(VERIFIED))
        for j in rng.permutation(len(c["ask"]))[: 1 + int(rng.integers(len(c["ask"])))]:
            say(agent, c["ask"][j][0])
            say(cust, c["ask"][j][1])
        if rng.random() < 0.6:
            say(agent, pick(HOLD))
            say(cust, pick(SHORT[:3]), gap=rng.uniform(2.0, 2.5))  # the hold: the longest pause
            say(agent, pick(BACK))
        if i == 0 and minutes >= 2.5 and rng.random() < 0.35:  # escalation: a second voice on the agent channel
            say(agent, "I'll need my supervisor to approve this. Please hold while I transfer you.")
            say(cust, "Okay.", gap=2.2)
            agent = "sup"
            say(agent, "Hello, this is {sup}, the team supervisor. {agent} has explained the situation to me.")
            say(cust, "Hello. Thank you for taking the call.")
        say(agent, pick(c["explain"]))
        say(cust, pick(SHORT))
        say(agent, pick(c["resolve"]))
        say(cust, pick(SHORT))
        if i == 0 and minutes >= 2 and rng.random() < 0.3:  # the customer hands the phone over, and takes it back
            say(cust, "Hold on, my {relative} wants a word.")
            say("customer2", "Hello. Can you send all of that to us in writing as well?")
            say(agent, "Of course. I'll email a summary to {email} today.")
            say("customer2", "Thank you. I'll pass you back now.")
            say(cust, "Hi, it's me again.")
        if est() > minutes * 60 - 25:  # room left for the closing
            break
    say(agent, pick(ELSE))
    say(cust, pick(NO_MORE))
    say(agent, pick(BYE_AGENT))
    say(cust, pick(BYE_CUST))
    # Backchannels: now and then the listener says "Okay." while a long turn is still being spoken.
    out = []
    for t in turns:
        out.append(t)
        if len(t["text"].split()) >= 18 and rng.random() < 0.35:
            out.append(dict(who=t["listener"], text=pick(BACKCHANNEL), gap=0.0, over=float(rng.uniform(0.35, 0.7))))
    return out


def plan_voicemail(rng: np.random.Generator, scen: str, minutes: float, s: dict) -> list[dict]:
    c = SCENARIOS[scen]
    s["dept"] = c["dept"]
    lines = [VM_OPEN[rng.integers(len(VM_OPEN))], unhello(c["problem"][rng.integers(len(c["problem"]))])]
    extra = [VM_DETAIL[j] for j in rng.permutation(len(VM_DETAIL))]
    while extra and sum(len(x.split()) * S_PER_WORD + 0.6 for x in lines) < minutes * 60:
        x = extra.pop()
        if not any(s[k] in " ".join(lines).format(**s) for k in re.findall(r"{(\w+)}", x)):  # no detail said twice
            lines.append(x)
    lines.append(VM_CLOSE[rng.integers(len(VM_CLOSE))])
    return [dict(who="mixed", text=x.format(**s), gap=float(rng.uniform(0.2, 1.2)), over=None) for x in lines]


def role(who: str) -> str:
    return {"ivr": "agent", "sup": "agent", "customer2": "customer"}.get(who, who)


def noise(rng: np.random.Generator, kind: str, n: int, rate: int) -> np.ndarray:
    """Unit-RMS noise: white, pink (1/f power, shaped in the frequency domain) or mains hum with harmonics."""
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.arange(len(spec), dtype=float)
        f[0] = 1.0
        x = np.fft.irfft(spec / np.sqrt(f), n)
    else:
        t, f0 = np.arange(n) / rate, rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3, 5))
        x = x + 0.05 * rng.standard_normal(n)  # a hum alone is a pure tone; real lines add some hiss
    return (x / np.sqrt(np.mean(x**2))).astype(np.float32)


def trim(a: np.ndarray, rate: int) -> np.ndarray:
    """Cut the TTS's leading/trailing silence, so turn times and pauses are what the manifest says."""
    on = np.flatnonzero(np.abs(a) > 0.02 * np.abs(a).max())
    pad = int(0.02 * rate)
    return a[max(0, on[0] - pad) : on[-1] + pad] if len(on) else a


def render(plan, voices, rate, n_ch, rng, pool):
    """Speak the plan and lay it out in call time. Returns audio (n_ch, samples) and turns with start/end."""
    clips = list(pool.map(lambda t: trim(tts(voices[t["who"]], t["text"], rate), rate), plan))
    t, prev, placed = float(rng.uniform(0.3, 1.0)), (0.0, 0.0), []
    for p, clip in zip(plan, clips, strict=False):
        d = len(clip) / rate
        if p["over"] is None:
            start, t = t, t + d + p["gap"]
            prev = (start, start + d)
        else:  # inside the previous turn, ending before it does (the listener's next turn comes after it)
            start = max(prev[0], min(prev[0] + p["over"] * (prev[1] - prev[0]), prev[1] - d - 0.1))
        placed.append((start, clip))
    audio = np.zeros((n_ch, int((t + rng.uniform(0.3, 1.0)) * rate) + 1), np.float32)
    level = {who: rng.uniform(-16, -2) for who in sorted(voices)}  # dB below full scale: each speaker's own level
    turns = []
    for p, (start, clip) in zip(plan, placed, strict=False):
        ch = 0 if n_ch == 1 or role(p["who"]) == "agent" else 1
        i = int(start * rate)
        gain = 10 ** ((level[p["who"]] + rng.uniform(-1.5, 1.5)) / 20)
        audio[ch, i : i + len(clip)] += gain * clip / max(1e-6, np.abs(clip).max())
        turns.append(
            {
                "role": "mixed" if n_ch == 1 else role(p["who"]),
                "start": round(start, 3),
                "end": round(start + len(clip) / rate, 3),
                "text": p["text"],
            }
        )
    return audio, sorted(turns, key=lambda x: x["start"])


def check_engines() -> None:
    missing = [c for c in ("flite", "espeak-ng", "festival", "text2wave") if not shutil.which(c)]
    if not missing:
        lv = subprocess.run(["flite", "-lv"], capture_output=True, text=True).stdout.split()
        fv = subprocess.run(["festival", "--batch", "(print (voice.list))"], capture_output=True, text=True).stdout
        missing = [f"flite voice {v}" for v in FLITE if v not in lv]
        missing += [f"festival {v}" for v in FESTIVAL if v.removeprefix("voice_") not in fv]
    if missing:
        sys.exit(
            f"make_dev_set: missing TTS engines or voices: {', '.join(missing)}\n"
            f"install them with: apt-get install -y {APT}"
        )


def main(out: Path, seed: int, minutes: float) -> None:
    check_engines()
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("[0-9][0-9][0-9]_*"):  # a previous, larger set's files would be inputs without references
        old.unlink()
    rng = np.random.default_rng(seed)
    # Voices and scenarios are dealt from shuffled decks, so the set uses all of them before repeating any.
    decks: dict[str, list] = {}

    def deal(name: str, items: list):
        if not decks.get(name):
            decks[name] = [items[i] for i in rng.permutation(len(items))]
        return decks[name].pop()

    def voice(exclude: str = "") -> tuple:
        engines = [e for e in ENGINE_SHARE if e != exclude]
        share = np.array([ENGINE_SHARE[e] for e in engines])
        engine = engines[rng.choice(len(engines), p=share / share.sum())]
        name = deal(engine, POOLS[engine])
        return engine, name, 1.0 if name.endswith("_hts") else float(rng.choice(SPEEDS[engine]))

    refs: dict = {"schema": "airwave.references/v1", "calls": {}, "rejects": {}, "silent": []}
    channel_s, n_words, n_calls, formats, used = 0.0, 0, 0, Counter(), {e: set() for e in POOLS}
    with ThreadPoolExecutor(2) as pool:  # TTS runs as subprocesses: two at a time keeps both cores busy
        while channel_s < minutes * 60:
            i = len(refs["calls"])
            kind, ext = CYCLE[i % len(CYCLE)]
            s = slots(rng)
            scen = deal("scenarios", list(SCENARIOS))
            if kind == "vm":
                plan = plan_voicemail(rng, scen, float(rng.uniform(*VM_MINUTES)), s)
                voices = {"mixed": voice()}
            else:
                mins = CALL_MINUTES[n_calls % len(CALL_MINUTES)]
                n_calls += 1
                plan = plan_call(rng, scen, lambda: deal("scenarios", list(SCENARIOS)), mins, s)
                voices = {"agent": voice()}
                voices["customer"] = voice(exclude=voices["agent"][0])  # the two parties never share an engine
                for who in ("ivr", "sup", "customer2"):
                    if any(p["who"] == who for p in plan):
                        voices[who] = IVR if who == "ivr" else voice()
            rate, n_ch = (8000, 2) if kind == "tel" else (16000, 1 if kind == "vm" else 2)
            audio, turns = render(plan, voices, rate, n_ch, rng, pool)
            snr, ntype = [None, 30, 20, 12][rng.integers(4)], ["white", "pink", "hum"][rng.integers(3)]
            for ch in range(n_ch):
                if snr is not None:
                    speech = np.concatenate(
                        [
                            audio[ch, int(t["start"] * rate) : int(t["end"] * rate)]
                            for t in turns
                            if n_ch == 1 or t["role"] == ("agent", "customer")[ch]
                        ]
                    )
                    rms = np.sqrt(np.mean(speech**2))
                    audio[ch] += rms / 10 ** (snr / 20) * noise(rng, ntype, audio.shape[1], rate)
                audio[ch] *= min(1.0, 0.98 / np.abs(audio[ch]).max())  # never clip, whatever the levels drew
            fname = f"{i:03d}_{kind}_{scen}.{ext}"
            encode(out / fname, audio, rate, *CODECS[kind, ext])
            roles = ["mixed"] if n_ch == 1 else ["agent", "customer"]
            chans = {r: " ".join(t["text"] for t in turns if t["role"] == r) for r in roles}
            refs["calls"][fname] = {
                "channels": chans,
                "turns": turns,
                "meta": {
                    "voices": {w: " ".join(map(str, v)) for w, v in voices.items()},
                    "snr_db": snr,
                    "noise": None if snr is None else ntype,
                },
            }
            dur = audio.shape[1] / rate
            channel_s += dur * n_ch
            n_words += sum(len(x.split()) for x in chans.values())
            formats[f"{kind} {ext} {rate // 1000} kHz {'stereo' if n_ch == 2 else 'mono'}"] += 1
            for engine, name, _ in voices.values():
                used[engine].add(name)
            print(
                f"{fname}: {dur:5.1f} s, {len(turns):3d} turns, {'clean' if snr is None else f'{snr} dB {ntype}'}, "
                f"{', '.join(f'{w}={v[1]}' for w, v in voices.items())}",
                flush=True,
            )
    (out / "manifest.json").write_text(json.dumps(refs, indent=1) + "\n")
    print(
        f"\n{len(refs['calls'])} files in {out}, {channel_s / 60:.1f} min of channel audio, "
        f"{n_words} reference words, {time.monotonic() - t0:.0f} s"
    )
    for engine, names in used.items():
        print(f"  {engine}: {len(names)} voices: {' '.join(sorted(names))}")
    for f, n in sorted(formats.items()):
        print(f"  {n} x {f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", default=Path(".bench/devset"), type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--minutes",
        type=float,
        default=40.0,
        help="stop once this much channel audio is written (a stereo file counts twice)",
    )
    args = ap.parse_args()
    main(args.out, args.seed, args.minutes)
