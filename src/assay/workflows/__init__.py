"""Use cases: the steps a user takes, between the engines and the faces.

A workflow takes a :class:`~assay.store.workspace.Workspace` and typed parameters,
runs the engines (``collect``, ``train``, ``deploy``) on the workspace's data, records
what it should, and returns a typed result (a dataclass). It never prints and never
knows a command-line flag or a URL: the faces (``cli``, ``web``, ``demo``) parse their
input, call a workflow and render its result. Bad input raises
:class:`~assay.exceptions.InputError` naming the Python parameter (``recipe=``); the
CLI turns parameter names into its flags.

One module per use case: :mod:`~assay.workflows.audit`, :mod:`~assay.workflows.slices`,
:mod:`~assay.workflows.curve`, :mod:`~assay.workflows.loop`, ...; helpers shared by
several live in :mod:`assay.workflows._common`.
"""
