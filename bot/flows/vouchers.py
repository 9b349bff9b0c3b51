"""Vouchers in the chat: the list with QR codes, and the announcement of a new one."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.conversation import (
    Flow,
    Turn,
)
from bot.events import QrImage, Reply
from bot.formatting import day
from bot.i18n import translations
from bot.voucher_texts import voucher_conditions, voucher_value_text
from crm_core.customers.models import Customer
from crm_core.events.models import EventKind
from crm_core.events.service import record_event
from crm_core.vouchers.codes import format_voucher_code
from crm_core.vouchers.models import Voucher
from crm_core.vouchers.service import usable_vouchers_of, voucher_image_token

# A chat is no catalogue: the soonest-expiring few, the till sees them all.
MAX_VOUCHERS_SHOWN = 5


class VoucherFlow(Flow):
    async def _vouchers(self, turn: Turn) -> list[Reply]:
        """The customer's vouchers, each with its QR code and conditions."""
        if turn.customer is None:
            return [Reply(turn._("You don't have a card yet."))] + await self._start_or_prompt(turn)
        now = self.config.clock()
        vouchers = await usable_vouchers_of(turn.customer.id, now)
        shown = vouchers[:MAX_VOUCHERS_SHOWN]
        await record_event(
            turn.customer.id,
            EventKind.OPENED_OFFER,
            now,
            turn.inbound.channel,
            {"vouchers": [voucher.id for voucher in shown]},
        )
        menu = await self._menu(turn)
        if not vouchers:
            return [Reply(turn._("You have no active vouchers right now."), menu=menu)]
        replies = [self.voucher_reply(turn.customer, voucher) for voucher in shown]
        return [*replies[:-1], replace(replies[-1], menu=menu)]

    def voucher_reply(self, customer: Customer, voucher: Voucher) -> Reply:
        """One voucher as a chat message: what it gives, until when, on what terms, and its QR."""
        language = customer.language
        tr = translations(language)
        zone = ZoneInfo(customer.timezone)

        def local_day(moment: datetime) -> str:
            return day(moment.astimezone(zone).date(), language)

        if voucher.valid_from > self.config.clock():
            # Not usable yet: say from when, or the shopper shows it at the till too early.
            validity = tr.gettext("Valid from {start} until {end}").format(
                start=local_day(voucher.valid_from), end=local_day(voucher.valid_until)
            )
        else:
            validity = tr.gettext("Valid until {date}").format(date=local_day(voucher.valid_until))
        lines = [
            f"🎁 {voucher.title}",
            voucher_value_text(voucher, language),
            tr.gettext("Code: {code}").format(code=format_voucher_code(voucher.code)),
            validity,
            *voucher_conditions(voucher, language),
            tr.gettext("Show this QR code at the till before paying."),
        ]
        image = QrImage(
            kind="voucher",
            object_id=voucher.id,
            payload=voucher.code,
            media_token=voucher_image_token(voucher, self.config.media_key, self.config.clock()),
            telegram_file_id=voucher.telegram_file_id,
        )
        return Reply(text="\n".join(lines), image=image)

    def voucher_announcement(self, customer: Customer, voucher: Voucher) -> list[Reply]:
        """The message a customer gets when a voucher is issued to them."""
        tr = translations(customer.language)
        return [Reply(tr.gettext("You have a new voucher!")), self.voucher_reply(customer, voucher)]
