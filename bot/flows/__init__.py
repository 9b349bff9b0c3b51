"""The parts of the one conversation, combined by bot.engine.ConversationEngine."""
