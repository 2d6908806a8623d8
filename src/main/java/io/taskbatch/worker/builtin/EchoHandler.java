package io.taskbatch.worker.builtin;

import io.taskbatch.worker.TaskHandler;
import jakarta.enterprise.context.ApplicationScoped;

/** Returns its input: the cheapest possible task, for measuring the engine itself. */
@ApplicationScoped
public class EchoHandler implements TaskHandler {
    @Override
    public String name() {
        return "echo";
    }

    @Override
    public String handle(String input) {
        return input;
    }
}
