"""The teaching labs: find them, start them, check them, solve them."""
