package io.taskbatch.worker.builtin;

import io.taskbatch.worker.TaskFailure;
import io.taskbatch.worker.TaskHandler;
import jakarta.enterprise.context.ApplicationScoped;

/** Sleeps for the input's number of milliseconds: a stand-in for IO-bound work. */
@ApplicationScoped
public class SleepHandler implements TaskHandler {
    @Override
    public String name() {
        return "sleep";
    }

    @Override
    public String handle(String input) throws Exception {
        long millis;
        try {
            millis = Long.parseLong(input.strip());
        } catch (NumberFormatException e) {
            throw TaskFailure.permanent("sleep: input \"" + input + "\" is not a number of milliseconds");
        }
        if (millis < 0) throw TaskFailure.permanent("sleep: " + millis + " ms is negative");
        Thread.sleep(millis);
        return "slept " + millis + " ms";
    }

    @Override
    public boolean waitsMostly() {
        return true;
    }
}
