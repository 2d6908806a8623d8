package io.taskbatch.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code taskbatch watch NAME}: a batch's live progress until it is decided; the exit code says how. */
@Command(name = "watch", mixinStandardHelpOptions = true,
        description = {"Follow a TaskBatch of a cluster until it is decided: done out of total,",
                "failed, rate and time left on stderr (a live bar on a terminal, a line every",
                "5 s otherwise), then a summary. The exit code says how the batch ended."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:the batch succeeded", "1:the batch failed (or was deleted before it finished)",
                "2:invalid arguments, no such batch or a refused request",
                "3:the Kubernetes API could not be reached (for 30 s, once the watch runs)"})
public class WatchCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "NAME", description = "The batch.")
    String name;

    @Option(names = "--progress", paramLabel = "MODE", defaultValue = "auto",
            description = "auto (a bar on a terminal, plain lines otherwise), bar, plain or none.")
    String progress;

    @Mixin
    ClusterOptions cluster = new ClusterOptions();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        ProgressPrinter.Mode mode = ProgressPrinter.Mode.parse(progress, err);
        if (mode == null) return ExitCodes.INVALID;
        ClusterOptions.Cluster c = cluster.connect(err);
        if (c == null) return ExitCodes.INVALID;
        try (c) {
            return BatchWatch.follow(c.client(), c.namespace(), name, mode, err);
        }
    }
}
