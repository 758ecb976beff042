# Aliases for ./dev, for those who type make out of habit; ./dev needs only bash.
.PHONY: demo test lint bench setup
demo test lint bench setup:
	./dev $@
