"""Run the jobs of a search on a Slurm cluster: one batch job per setting, followed until all end.

For each job, a script `job.sbatch` is written into its folder (the user can read it,
and resubmit it with `sbatch job.sbatch`) and submitted with `sbatch`. The job runs
train.py with the interpreter and working directory of the search, so a virtual
environment carries over, and appends its output to `slurm-<id>.out` in its folder
(a job that Slurm requeues keeps the output of its earlier attempts).

How the jobs are followed: one `squeue` call for all of them every `poll_seconds`,
rather than one `sbatch --wait` per job. A single query costs the controller
one request however many jobs there are (a hundred `sbatch --wait` would be a
hundred processes on the login node, each polling the controller), and it
gives each job's state by name (COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY,
CANCELLED...) and why a pending job waits, where `sbatch --wait` gives an exit code only.
A job that squeue leaves out is confirmed over by scontrol before the search believes it.

Never two jobs training in one folder:
- Before submitting, the search looks in the queue for a live job of this search for
  that folder (same job name, and its log going to that folder) and follows it instead:
  a job submitted by an earlier search whose id was lost (sbatch timed out but Slurm
  created the job), or a `job.sbatch` the user resubmitted by hand. The id of each job
  is also kept in `slurm.jobid` in its folder.
- Each job takes a lock (`flock` on `slurm.lock` in its folder) before training and holds
  it as long as train.py runs: a second job for the same folder stops at once with a
  message naming the first. The lock belongs to the open file, which the job's
  processes hold: a job that is killed, cancelled or whose node fails frees it. A job of
  this search that finds the folder locked (exit status 3) is not a failure: the search
  follows the job holding the lock instead.

Ctrl-C cancels (scancel) the jobs this search follows, and no other; if scancel fails
(a controller that does not answer), the search says which jobs may still be running.

The modules, in the order a search uses them:
- resources.py: the `slurm` section of search.json and the command-line flags, checked; their #SBATCH lines.
- submit.py: the text of job.sbatch (lock, setup lines, train.py), and sbatch.
- commands.py: running one Slurm command (a Ctrl-C lets it finish) and its error in one line.
- queue.py: what squeue, sacct and sinfo say about jobs and nodes.
- follow.py: run_slurm: submit, follow each job to its end, resubmit or cancel, and say what to do next.
"""
