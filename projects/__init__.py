"""MLflow Projects: `MLproject` files, typed entry-point parameters, cached environments, and
`run` (`shipyard run` on the command line), which starts an entry point inside a tracked run."""

from shipyard.projects.env_cache import CachedEnv, EnvCache
from shipyard.projects.environments import ENV_MANAGERS, Environment
from shipyard.projects.launch import env_root, run
from shipyard.projects.params import PARAMETER_TYPES, Parameter
from shipyard.projects.spec import DockerEnv, EntryPoint, Project, load_project
from shipyard.projects.submitted import ExecutionError, ExecutionException, SubmittedRun

__all__ = [
    "CachedEnv",
    "DockerEnv",
    "ENV_MANAGERS",
    "EntryPoint",
    "EnvCache",
    "Environment",
    "ExecutionError",
    "ExecutionException",
    "PARAMETER_TYPES",
    "Parameter",
    "Project",
    "SubmittedRun",
    "env_root",
    "load_project",
    "run",
]
