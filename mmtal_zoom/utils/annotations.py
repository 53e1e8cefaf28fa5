"""Class names of a standard TAL annotation JSON (``{"database": {video:
{"annotations": [{"label", "label_id", ...}]}}}``), in the order
``TALFeatureDataset`` gives them label ids: by ``label_id``, then the names
without one alphabetically.

The one definition used by the dataset, the classifier fusion and
``tools/eval_detection.py``; each caller turns the ``ValueError`` into its
own error type and names its file."""
from typing import Dict, Optional, Tuple


def label_ids_of_database(database: dict) -> Dict[str, Optional[int]]:
    """``{class name: label_id}`` (``None`` where the annotations give no
    id) over every video of ``database``; a name without ``label`` is
    ``str(label_id)``.

    Raises:
        ValueError: a name with two ids, or an id naming two classes (the
            message names the video, not the file).
    """
    name_to_id: Dict[str, Optional[int]] = {}
    id_to_name: Dict[int, str] = {}
    for video, entry in database.items():
        for a in entry.get('annotations') or []:
            name = a.get('label', str(a.get('label_id')))
            lid = a.get('label_id')
            if name in name_to_id and name_to_id[name] != lid:
                raise ValueError(
                    f'label "{name}" has label_id {name_to_id[name]} and '
                    f'{lid} (video "{video}").')
            if lid is not None and id_to_name.get(lid, name) != name:
                raise ValueError(
                    f'label_id {lid} names both "{id_to_name[lid]}" and '
                    f'"{name}" (video "{video}").')
            name_to_id[name] = lid
            if lid is not None:
                id_to_name[lid] = name
    return name_to_id


def classes_from_database(database: dict) -> Tuple[str, ...]:
    """Class names of the whole ``database`` (every subset) ordered by
    ``label_id``; names without an id follow, alphabetically.

    Raises:
        ValueError: see :func:`label_ids_of_database`.
    """
    name_to_id = label_ids_of_database(database)
    big = float('inf')
    return tuple(
        sorted(name_to_id,
               key=lambda n: (big if name_to_id[n] is None else name_to_id[n],
                              n)))
