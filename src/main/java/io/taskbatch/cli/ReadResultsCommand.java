package io.taskbatch.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code taskbatch read-results}: what the reader pod of {@code taskbatch results} runs. Writes the results
 * file's complete lines to stdout between the markers of {@link ResultLines}; the CLI reads them from the
 * pod's log.
 */
@Command(name = "read-results", hidden = true, mixinStandardHelpOptions = true,
        description = {"Write a results file to stdout for taskbatch results (it runs in the reader pod)."})
public class ReadResultsCommand implements Callable<Integer> {

    @Option(names = "--file", paramLabel = "FILE", required = true, description = "The results file (JSON Lines).")
    Path file;

    @Option(names = "--failed", description = "Only the failed results.")
    boolean failedOnly;

    @Override
    public Integer call() {
        PrintStream out = System.out;
        try (InputStream in = Files.newInputStream(file)) {
            ResultLines.writeMarked(in, failedOnly, out);
            return ExitCodes.SUCCEEDED;
        } catch (NoSuchFileException e) {
            out.println(ResultLines.NOTE + "there is no results file " + file + " on the claim yet (the master writes it"
                    + " once it runs)");
            out.println(ResultLines.BEGIN);
            out.println(ResultLines.END + " lines=0");
            return ExitCodes.SUCCEEDED;
        } catch (IOException e) {
            out.println(ResultLines.NOTE + "cannot read " + file + ": " + e.getMessage());
            return ExitCodes.FAILED;
        } finally {
            out.flush();
        }
    }
}
