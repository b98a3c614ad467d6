"""The one exception type that a user's mistake turns into.

Every reader of user input (scenario files, report files, command-line arguments) raises
`InputError` with a message that names the file and the key, row or column. The command
line prints that message as one line and exits with code 2; it never shows a traceback.
"""


class InputError(Exception):
    """A user's input is wrong; the message is one sentence naming where and what."""
