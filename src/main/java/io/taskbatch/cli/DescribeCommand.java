package io.taskbatch.cli;

import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.taskbatch.api.TaskBatch;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch describe NAME}: one batch in full, as kubectl describe would tell it. */
@Command(name = "describe", mixinStandardHelpOptions = true,
        description = {"Describe a TaskBatch of a cluster: what it runs (tasks, executor, workers,",
                "retries, failure policy, where results go), its counts, conditions, first",
                "failures and recent events."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:described", "2:invalid arguments, no such batch or a refused request",
                "3:the Kubernetes API could not be reached"})
public class DescribeCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "NAME", description = "The batch.")
    String name;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            TaskBatch batch = ClusterCalls.batch(c.client(), c.namespace(), name);
            out.print(BatchDescription.of(batch, events(c.client(), batch), Instant.now()));
            out.flush();
            return ExitCodes.SUCCEEDED;
        } catch (ClusterCalls.Failed f) {
            return ClusterCalls.report(f, err);
        }
    }

    /** The events about this batch (this very object: a batch deleted and created again has its own). */
    static List<Event> events(KubernetesClient client, TaskBatch batch) {
        var meta = batch.getMetadata();
        // the namespace's events, filtered here: a field selector on involvedObject is not answered by every server
        List<Event> all = ClusterCalls.call(client, () -> client.v1().events().inNamespace(meta.getNamespace()).list().getItems());
        return all.stream().filter(e -> e.getInvolvedObject() != null && TaskBatch.KIND.equals(e.getInvolvedObject().getKind())
                && meta.getName().equals(e.getInvolvedObject().getName())
                && (e.getInvolvedObject().getUid() == null || e.getInvolvedObject().getUid().equals(meta.getUid()))).toList();
    }
}
