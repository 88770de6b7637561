"""The data path for one file, in rooms:

    pipeline.options   OutputOptions (where and how outputs are written), FORMAT_EXTENSIONS
    pipeline.result    Result (done | skipped | failed with a typed Failure), failed_result (the catch boundary)
    pipeline.inputs    find_inputs, is_ignored: the one policy for hidden, temp and system names
    pipeline.outputs   the output plan: names (plan_outputs, recipe_path_for, variation_path), collisions and
                       inputs never replaced (PlanError, check_folders, check_targets, ...), existing outputs
    pipeline.stages    decode -> agent input -> decide (a sources.RecipeSource) -> render + atomic writes;
                       process_one and the pipelined pieces the engine runs

Exports: OutputOptions, Result, find_inputs, plan_outputs, process_one.
"""
from .inputs import find_inputs
from .options import OutputOptions
from .outputs import plan_outputs
from .result import Result
from .stages import process_one

__all__ = ["OutputOptions", "Result", "find_inputs", "plan_outputs", "process_one"]
