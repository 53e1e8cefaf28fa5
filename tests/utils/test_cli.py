"""The argparse helpers the tools share."""
from mmtal_zoom.utils.cli import add_switches, doc_parser, localizer_parser

DOC = """Do a thing.

    python tools/thing.py IN
"""


def test_doc_parser_keeps_the_docstring_as_written():
    whole = doc_parser(DOC)
    assert whole.description == DOC and whole.epilog is None
    split = doc_parser(DOC, 'A thing.')
    assert split.description == 'A thing.'
    assert split.epilog == '    python tools/thing.py IN\n'
    assert '    python tools/thing.py IN' in split.format_help()


def test_localizer_parser_takes_config_and_checkpoint():
    args = localizer_parser(DOC).parse_args(['a.py', 'b.pth'])
    assert (args.config, args.checkpoint) == ('a.py', 'b.pth')


def test_add_switches_adds_store_true_flags_in_order():
    parser = doc_parser(DOC)
    add_switches(parser, {'--dry-run': 'print only', '--quiet': None})
    assert vars(parser.parse_args([])) == dict(dry_run=False, quiet=False)
    assert parser.parse_args(['--quiet']).quiet
    help_text = parser.format_help()
    assert help_text.index('--dry-run') < help_text.index('--quiet')
    assert 'print only' in help_text
