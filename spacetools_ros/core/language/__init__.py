"""Language that follows the speaker: object mentions and relation phrases found first, then roles."""
