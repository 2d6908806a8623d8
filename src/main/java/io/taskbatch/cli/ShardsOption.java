package io.taskbatch.cli;

import io.taskbatch.api.QueuesSpec;
import java.io.PrintWriter;
import picocli.CommandLine.Option;

/**
 * {@code --shards K}: the batch's spec.queues.shards for this run. The master and every worker of a batch must
 * use the same K (they consume and publish by shard), so a local run hands it on to its worker processes.
 */
public class ShardsOption {
    @Option(names = "--shards", paramLabel = "K",
            description = "Task and result queues of the batch (spec.queues.shards), each a quorum queue the broker "
                    + "leads from its least loaded node: one per broker node. Default: the manifest's, else 1.")
    Integer shards;

    /** Sets spec.queues.shards of {@code batch} when --shards was given; false after telling {@code err} why not. */
    boolean apply(BatchFile batch, PrintWriter err) {
        if (shards == null) return true;
        if (shards < 1 || shards > QueuesSpec.MAX_SHARDS) {
            err.println("--shards must be 1 to " + QueuesSpec.MAX_SHARDS + " (one per broker node is the useful most), was "
                    + shards);
            err.flush();
            return false;
        }
        var spec = batch.plan().spec();
        if (spec.getQueues() == null) spec.setQueues(new QueuesSpec());
        spec.getQueues().setShards(shards);
        return true;
    }
}
