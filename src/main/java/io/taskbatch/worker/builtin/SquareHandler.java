package io.taskbatch.worker.builtin;

import io.taskbatch.worker.TaskFailure;
import io.taskbatch.worker.TaskHandler;
import jakarta.enterprise.context.ApplicationScoped;
import java.math.BigInteger;

/** {@code n} to {@code "n * n = n²"}, for integers of any size. */
@ApplicationScoped
public class SquareHandler implements TaskHandler {
    @Override
    public String name() {
        return "square";
    }

    @Override
    public String handle(String input) throws TaskFailure {
        String text = input.strip();
        long n;
        try {
            n = Long.parseLong(text);
        } catch (NumberFormatException e) {
            return squareBig(text, input);
        }
        if (Math.abs(n) <= 3_037_000_499L) {
            return text + " * " + text + " = " + (n * n);
        }
        return squareBig(text, input);
    }

    private static String squareBig(String text, String input) throws TaskFailure {
        try {
            BigInteger n = new BigInteger(text);
            return text + " * " + text + " = " + n.multiply(n);
        } catch (NumberFormatException e) {
            throw TaskFailure.permanent("square: input \"" + input + "\" is not an integer");
        }
    }
}
