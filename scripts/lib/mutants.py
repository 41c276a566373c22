#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""mutants.py - vdisk with one ordering rule broken at a time (scripts/mutants).

Usage: mutants.py list           name, crash-states variant, rule; one a line
       mutants.py apply NAME DIR  break NAME's rule in the source tree DIR

Each mutant replaces one exact piece of the driver's source.  When the
piece is not found exactly once the source has moved on: apply fails and
names the mutant, so the table is kept up to date rather than silently
testing nothing.
"""
import sys

VD = "drivers/block/vdisk/"

# name: (variant that must catch it, file, rule broken, old text, new text)
MUTANTS = {
    "file-sync": (
        "qcow2", VD + "io.c",
        "vd_file_sync() makes nothing durable",
        "\treturn vfs_fsync(file, 0);\n",
        "\treturn 0;\n"),
    "qcow2-refcounts-before-l2": (
        "qcow2", VD + "qcow2_flush.c",
        "qcow2: data and refcount blocks are synced before L2 tables are written",
        "\t\t\t\t\t\t   rw->reftable_moved);\n\t}\n\tif (!ret)\n\t\tret = vd_file_sync(file);\n",
        "\t\t\t\t\t\t   rw->reftable_moved);\n\t}\n"),
    "qcow2-l2-before-l1": (
        "qcow2-small", VD + "qcow2_flush.c",
        "qcow2: L2 tables are synced before the L1 table is written",
        "\tif (!ret && find_first_bit(rw->l1_dirty, l1_bits) < l1_bits) {\n"
        "\t\tret = vd_file_sync(file);\n\t\tif (!ret)\n\t\t\tret = vd_qcow2_write_table(",
        "\tif (!ret && find_first_bit(rw->l1_dirty, l1_bits) < l1_bits) {\n"
        "\t\tif (!ret)\n\t\t\tret = vd_qcow2_write_table("),
    "qcow2-free-before-flush": (
        "qcow2", VD + "qcow2_flush.c",
        "qcow2: clusters are freed only after the flush that unlinked them",
        "\tmutex_lock(&rw->flush_lock);\n\tdown_write(&rw->meta_rwsem);\n"
        "\tif (vd_qcow2_meta_dirty(q))\n",
        "\tmutex_lock(&rw->flush_lock);\n"
        "\tvd_qcow2_release_frees(layer, rw->frees, READ_ONCE(rw->nr_frees));\n"
        "\tWRITE_ONCE(rw->nr_frees, 0);\n"
        "\tdown_write(&rw->meta_rwsem);\n"
        "\tif (vd_qcow2_meta_dirty(q))\n"),
    "vmdk-data-before-gt": (
        "vmdk", VD + "vmdk_write.c",
        "vmdk: grain data is synced before grain tables are written",
        "\tmutex_lock(&e->lock);\n\tret = vd_file_sync(file);\n"
        "\tif (ret || (!e->nr_dirty && !e->gd_dirty && !e->nr_frees))\n",
        "\tmutex_lock(&e->lock);\n\tret = 0;\n"
        "\tif (ret || (!e->nr_dirty && !e->gd_dirty && !e->nr_frees))\n"),
    "job-switch-before-copy": (
        "job-rebase", VD + "job_pass.c",
        "a job's copy is durable before the top's header names the new backing",
        "\tret = vd_job_flush(job, top);\n\tif (ret)\n\t\treturn ret;\n"
        "\tret = top->ops->set_backing(",
        "\tret = top->ops->set_backing("),
}


def main():
    if sys.argv[1:2] == ["list"]:
        for name, (variant, _, rule, _, _) in MUTANTS.items():
            print("%s %s %s" % (name, variant, rule))
        return 0
    if len(sys.argv) != 4 or sys.argv[1] != "apply":
        sys.exit(__doc__)
    name, top = sys.argv[2], sys.argv[3]
    if name not in MUTANTS:
        sys.exit("mutants.py: no mutant %r" % name)
    _, path, _, old, new = MUTANTS[name]
    path = top + "/" + path
    src = open(path).read()
    if src.count(old) != 1:
        sys.exit("mutants.py: %s: the text it breaks occurs %d times in %s, not once: "
                 "update scripts/lib/mutants.py" % (name, src.count(old), path))
    open(path, "w").write(src.replace(old, new))
    return 0


if __name__ == "__main__":
    sys.exit(main())
