package io.taskbatch.worker.builtin;

import io.taskbatch.worker.TaskContext;
import io.taskbatch.worker.TaskFailure;
import io.taskbatch.worker.TaskHandler;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Fails on purpose, for testing retries and failure policies. Input {@code N} (a number): the first
 * N attempts fail and the next one succeeds; {@code halt}: kills the whole JVM at once, like a
 * crashing native library (a poison task); anything else: always fails.
 */
@ApplicationScoped
public class FailHandler implements TaskHandler {
    @Override
    public String name() {
        return "fail";
    }

    @Override
    public String handle(String input) throws TaskFailure {
        String text = input.strip();
        int attempt = TaskContext.require().attempt();
        if (text.equals("halt")) {
            Runtime.getRuntime().halt(137);
        }
        int failures;
        try {
            failures = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new TaskFailure("fail: failing as asked (input \"" + input + "\", attempt " + attempt + ")");
        }
        if (attempt <= failures) {
            throw new TaskFailure("fail: attempt " + attempt + " of the first " + failures + " fails");
        }
        return "succeeded on attempt " + attempt;
    }
}
