"""ferry's command line: parse input, call the library, render output, map errors."""
