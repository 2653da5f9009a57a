"""The rule every figure keeps: titled axes, labelled axes where curves or points are drawn,
a legend where curves are drawn; image panels count with a title per panel."""


def assert_labelled(fig, *, suptitle=False):
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes, "figure has no axes"
    if suptitle:
        assert fig._suptitle is not None or fig.texts, "figure has no suptitle"
    plotted = [ax for ax in axes if not ax.images]
    for ax in axes:
        assert ax.get_title(), "an axes has no title"
    for ax in plotted:
        assert ax.get_xlabel() and ax.get_ylabel(), f"axes {ax.get_title()!r} lacks an axis label"
    if plotted:
        assert any(ax.get_legend() is not None for ax in plotted), "no legend"
