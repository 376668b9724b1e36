"""PageResult.text: reading-order text with table rows kept on one line."""

from ocrtool.results import Line, PageResult


def box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def page(*lines: Line) -> PageResult:
    return PageResult("p.png", 500, 500, list(lines))


def test_item_and_price_on_one_row_share_a_text_line():
    p = page(Line("WHOLE MILK", 1.0, box(10, 100, 120, 115)),
             Line("4.29", 1.0, box(400, 101, 440, 116)),
             Line("SOURDOUGH BREAD", 1.0, box(10, 125, 170, 140)),
             Line("5.49", 1.0, box(400, 125, 440, 140)))
    assert p.text == "WHOLE MILK 4.29\nSOURDOUGH BREAD 5.49"


def test_stacked_lines_stay_apart():
    p = page(Line("first", 1.0, box(10, 10, 100, 25)),
             Line("second", 1.0, box(120, 30, 200, 45)))
    assert p.text == "first\nsecond"


def test_blocks_are_separated_by_a_blank_line_even_on_one_row():
    p = page(Line("left column", 1.0, box(10, 10, 100, 25), block=0),
             Line("right column", 1.0, box(300, 10, 400, 25), block=1))
    assert p.text == "left column\n\nright column"


def test_a_line_left_of_the_previous_one_starts_a_new_text_line():
    p = page(Line("b", 1.0, box(300, 10, 400, 25)), Line("a", 1.0, box(10, 10, 100, 25)))
    assert p.text == "b\na"
