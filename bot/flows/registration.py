"""Registration: greeting, first name, confirmed phone, one consent question, the card, and
then the offer of the optional survey.

Also the way in for a plastic card: its number, then the phone it was registered with.
"""

from __future__ import annotations

from bot.conversation import (
    AWAITING_CARD_NUMBER,
    AWAITING_CONSENT,
    AWAITING_LINK_CODE,
    AWAITING_NAME,
    AWAITING_PHONE,
    CONSENT_NO,
    CONSENT_YES,
    HAVE_CARD,
    LINK_START_PREFIX,
    MARKETING_CONSENT_TEXT_VERSION,
    NEW,
    SURVEY_STATES,
    Flow,
    Turn,
)
from bot.events import Button, Reply
from bot.i18n import N_
from crm_core.cards.numbers import normalize_card_input
from crm_core.customers.service import (
    customer_with_phone,
    save_state,
)
from crm_core.customers.validation import (
    InvalidName,
    InvalidPhone,
    NameProblem,
    clean_first_name,
    normalize_phone,
)
from crm_core.identity.links import absorb_unconfirmed, phone_owner
from crm_core.registration.service import (
    NewCustomer,
    PhoneInUse,
    grant_marketing,
    link_by_confirmed_phone,
    link_existing_card,
    register_customer,
)

_NAME_PROBLEMS = {
    NameProblem.EMPTY: N_("Please tell me your first name."),
    NameProblem.TOO_LONG: N_(
        "That is too long for a first name. Please use at most 64 characters."
    ),
    NameProblem.BAD_CHARACTERS: N_(
        "A first name can only have letters, spaces, hyphens and apostrophes. "
        "What is your first name?"
    ),
}


class RegistrationFlow(Flow):
    async def _start(self, turn: Turn) -> list[Reply]:
        parts = turn.inbound.text.split()
        note: list[Reply] = []
        if len(parts) == 2 and parts[1].startswith(LINK_START_PREFIX):
            # A link from the web chat: joins it to this chat's customer, or says how.
            token = parts[1].removeprefix(LINK_START_PREFIX)
            note = await self._open_link(turn, token)  # type: ignore[attr-defined]
            if turn.customer is not None:
                return note
        if turn.customer is not None:
            return await self._card(turn, greeting=True)
        await save_state(turn.identity, AWAITING_NAME, {})
        return [
            *note,
            Reply(
                turn._("Hello! Here you can get our digital loyalty card in under a minute.")
                + "\n"
                + turn._("What is your first name?"),
                buttons=(Button(turn._("I already have a plastic card"), HAVE_CARD),),
            ),
        ]

    async def _have_card(self, turn: Turn) -> list[Reply]:
        """A shopper with a plastic card: its number first, then the phone that proves it."""
        if turn.customer is not None:
            return await self._card(turn)
        await save_state(turn.identity, AWAITING_CARD_NUMBER, {})
        return [Reply(turn._("Please type the number printed on your card."))]

    async def _existing_card_number(self, turn: Turn, text: str) -> list[Reply]:
        number = normalize_card_input(text)
        if not (number.isdigit() and 6 <= len(number) <= 32):
            return [Reply(turn._("A card number has only digits. Please type it as printed."))]
        await save_state(turn.identity, AWAITING_PHONE, {"existing_card": number})
        return [self._ask_phone_for_card(turn)]

    def _ask_phone_for_card(self, turn: Turn) -> Reply:
        if turn.inbound.channel in self.config.typed_phone_channels:
            return Reply(
                turn._("To confirm the card is yours, what is your phone number?"),
                expects_phone=True,
            )
        return Reply(
            turn._("To confirm the card is yours, please share your phone number."),
            ask_phone=turn._("Share my phone number"),
        )

    async def _resume(self, turn: Turn) -> list[Reply]:
        """A reopened web chat: the card for customers (and an open survey question), the open
        question for everyone else."""
        if turn.customer is not None:
            replies = await self._card(turn)
            if turn.identity.state in SURVEY_STATES:
                replies.append(await self._survey_prompt(turn))
            return replies
        if turn.identity.state == NEW:
            return await self._start(turn)
        return await self._prompt(turn)

    async def _prompt(self, turn: Turn) -> list[Reply]:
        """Ask again whatever the current step needs."""
        state = turn.identity.state
        if state in SURVEY_STATES and turn.customer is not None:
            return [await self._survey_prompt(turn)]
        if state == AWAITING_NAME:
            return [Reply(turn._("What is your first name?"))]
        if state == AWAITING_CARD_NUMBER:
            return [Reply(turn._("Please type the number printed on your card."))]
        if state == AWAITING_PHONE:
            if turn.identity.state_data.get("existing_card"):
                return [self._ask_phone_for_card(turn)]
            return [self._ask_phone(turn, turn.identity.state_data.get("first_name", ""))]
        if state == AWAITING_CONSENT:
            return [self._ask_consent(turn)]
        if state == AWAITING_LINK_CODE:
            return [self._ask_link_code(turn)]  # type: ignore[attr-defined]
        if turn.customer is not None:
            return [self._help(turn)]
        return [Reply(turn._("Send /start to get your loyalty card."))]

    async def _start_or_prompt(self, turn: Turn) -> list[Reply]:
        if turn.identity.state == NEW:
            return await self._start(turn)
        return await self._prompt(turn)

    async def _name(self, turn: Turn, text: str) -> list[Reply]:
        try:
            name = clean_first_name(text)
        except InvalidName as error:
            return [Reply(turn._(_NAME_PROBLEMS[error.problem]))]
        data = turn.identity.state_data
        if data.get("phone"):
            # The phone was confirmed already (a plastic card that could not be linked).
            await save_state(turn.identity, AWAITING_CONSENT, dict(data, first_name=name))
            return [self._ask_consent(turn)]
        await save_state(turn.identity, AWAITING_PHONE, {"first_name": name})
        return [self._ask_phone(turn, name)]

    def _ask_phone(self, turn: Turn, name: str) -> Reply:
        if turn.inbound.channel in self.config.typed_phone_channels:
            return Reply(
                turn._("Nice to meet you, {name}! What is your phone number?", name=name),
                expects_phone=True,
            )
        return Reply(
            turn._(
                "Nice to meet you, {name}! Please confirm your phone number with the button below.",
                name=name,
            ),
            ask_phone=turn._("Share my phone number"),
        )

    async def _phone_from_contact(self, turn: Turn) -> list[Reply]:
        if not turn.inbound.contact_is_own:
            return [
                Reply(
                    turn._("That is someone else's contact. Please share your own number."),
                    ask_phone=turn._("Share my phone number"),
                )
            ]
        return await self._accept_phone(turn, turn.inbound.contact_phone or "", confirmed=True)

    async def _typed_phone(self, turn: Turn, text: str) -> list[Reply]:
        return await self._accept_phone(turn, text, confirmed=False)

    async def _accept_phone(self, turn: Turn, raw: str, confirmed: bool) -> list[Reply]:
        try:
            phone = normalize_phone(raw, self.config.phone_region)
        except InvalidPhone:
            return [
                Reply(
                    turn._(
                        "That doesn't look like a phone number. "
                        "Please send it with the country code, e.g. +380 50 123 4567."
                    ),
                    ask_phone=None if not confirmed else turn._("Share my phone number"),
                    expects_phone=not confirmed,  # typed: the phone keypad stays
                )
            ]
        existing_card = turn.identity.state_data.get("existing_card")
        proven = confirmed and turn.inbound.contact_proven
        if existing_card:
            # The printed number and its phone: enough for a card in no chat yet.
            linked = await link_existing_card(
                turn.identity, existing_card, phone, self.config.clock(), proven=proven
            )
            if linked is not None:
                turn.customer = linked.customer
                return [
                    Reply(turn._("Done: your card is now in this chat.")),
                    await self._card_reply(turn, linked.card),
                ]
        if proven:
            linked = await link_by_confirmed_phone(turn.identity, phone, self.config.clock())
            if linked is not None:
                turn.customer = linked.customer
                await absorb_unconfirmed(linked.customer, self.config.clock())
                return [
                    Reply(turn._("You already have our card: I have linked this chat to it.")),
                    await self._card_reply(turn, linked.card),
                ]
        elif await self._phone_taken(phone, confirmed):
            return await self._needs_proof(turn, phone)
        if existing_card:
            # Say the same whether the card is unknown or someone else's: reveal nothing.
            await save_state(
                turn.identity,
                AWAITING_NAME,
                {"phone": phone, "phone_confirmed": confirmed, "phone_proven": proven},
            )
            return [
                Reply(
                    turn._(
                        "I could not link that card to this phone number. "
                        "I can issue you a new digital card instead: what is your first name?"
                    )
                )
            ]
        data = dict(
            turn.identity.state_data, phone=phone, phone_confirmed=confirmed, phone_proven=proven
        )
        data.pop("pending_phone", None)
        await save_state(turn.identity, AWAITING_CONSENT, data)
        return [self._ask_consent(turn)]

    async def _phone_taken(self, phone: str, confirmed: bool) -> bool:
        """Whether an unproven number may not register here: a Viber contact yields only to a
        confirmed holder; a typed number also to another web-chat registration of it."""
        if confirmed:
            return await customer_with_phone(phone) is not None
        return await phone_owner(phone) is not None

    def _ask_consent(self, turn: Turn) -> Reply:
        return Reply(
            turn._(
                "May we send you personal offers and vouchers in this chat? "
                "You can stop them at any time with /stop."
            ),
            buttons=(
                Button(turn._("Yes, send offers"), CONSENT_YES),
                Button(turn._("No"), CONSENT_NO),
            ),
        )

    async def _consent(self, turn: Turn, granted: bool) -> list[Reply]:
        now = self.config.clock()
        version = self._consent_version(turn)
        if turn.customer is not None:
            if granted:
                await grant_marketing(turn.customer, turn.inbound.channel, version, now)
                return [
                    Reply(
                        turn._("Done: we will send you offers here."), menu=await self._menu(turn)
                    )
                ]
            return [self._help(turn)]
        if turn.identity.state != AWAITING_CONSENT:
            return await self._prompt(turn)
        data = turn.identity.state_data
        try:
            registration = await register_customer(
                turn.identity,
                NewCustomer(
                    first_name=data["first_name"],
                    phone=data["phone"],
                    phone_confirmed=bool(data.get("phone_confirmed")),
                    phone_proven=bool(data.get("phone_proven")),
                    language=turn.language,
                    marketing_consent=granted,
                    consent_text_version=version,
                ),
                self.config.timezone_fallback,
                self.config.card_policy,
                now,
            )
        except PhoneInUse:
            # Taken meanwhile by another chat: back to the phone step.
            return await self._needs_proof(turn, data["phone"])
        if registration.customer.phone is not None and bool(data.get("phone_proven")):
            await absorb_unconfirmed(registration.customer, now)
        turn.customer = registration.customer
        replies = []
        if registration.linked_existing:
            replies.append(
                Reply(turn._("You already have our card: I have linked this chat to it."))
            )
        replies.append(await self._card_reply(turn, registration.card, fresh=True))
        if not registration.linked_existing:
            replies += await self._offer_survey(turn)
        return replies

    async def _consent_yes(self, turn: Turn) -> list[Reply]:
        return await self._consent(turn, True)

    async def _consent_no(self, turn: Turn) -> list[Reply]:
        return await self._consent(turn, False)

    def _consent_version(self, turn: Turn) -> str:
        return f"{MARKETING_CONSENT_TEXT_VERSION}:{turn.language}"
