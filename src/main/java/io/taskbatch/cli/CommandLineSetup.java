package io.taskbatch.cli;

import io.quarkus.picocli.runtime.PicocliCommandLineFactory;
import io.quarkus.runtime.annotations.CommandLineArguments;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * How the command line answers a user: a mistyped flag or subcommand gets one line that names it, a
 * "did you mean" and a pointer to {@code --help} (not the whole usage); the top-level help lists each
 * subcommand with one full sentence.
 */
@ApplicationScoped
public class CommandLineSetup {

    @Produces
    @Singleton
    CommandLine commandLine(PicocliCommandLineFactory factory, @CommandLineArguments String[] args) {
        return configure(withSubcommands(factory.create(), args));
    }

    /**
     * Adds {@link TaskbatchCommand#SUBCOMMANDS} to {@code top} and returns it: only the one {@code args} start with, when
     * they name one, else all (the top-level help, the version, a mistyped name's suggestions). A role pays for its own
     * command alone: picocli builds each subcommand's model by reflection, and Quarkus builds its bean with what it
     * injects (a worker's command line took 0.06 s of its main thread's CPU instead of 0.10).
     */
    static CommandLine withSubcommands(CommandLine top, String[] args) {
        Class<?> invoked = args != null && args.length > 0 ? TaskbatchCommand.SUBCOMMANDS.get(args[0]) : null;
        if (invoked != null) {
            top.addSubcommand(args[0], invoked);
        } else {
            TaskbatchCommand.SUBCOMMANDS.forEach(top::addSubcommand);
        }
        return top;
    }

    /** Applies this class's behaviour to {@code cli} (the top command, the subcommands it has now included) and returns it. */
    static CommandLine configure(CommandLine cli) {
        cli.setParameterExceptionHandler(CommandLineSetup::onBadArguments);
        cli.getCommandSpec().usageMessage().sectionMap()
                .put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, CommandLineSetup::commandList);
        return cli;
    }

    /** Prints what is wrong, the suggestions and where the help is; returns 2 (see {@link ExitCodes#INVALID}). */
    static int onBadArguments(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(message(e));
        if (e instanceof UnmatchedArgumentException u) {
            List<String> suggestions = u.getSuggestions();
            if (!suggestions.isEmpty()) err.println("Did you mean " + orList(suggestions) + "?");
        }
        err.println("See '" + cmd.getCommandSpec().qualifiedName() + " --help' for the options and arguments.");
        err.flush();
        return ExitCodes.INVALID;
    }

    /** Picocli's message, with an unknown option named alone (not with the values that followed it). */
    private static String message(ParameterException e) {
        if (e instanceof UnmatchedArgumentException u && u.isUnknownOption()) {
            String option = u.getUnmatched().stream().filter(a -> a.startsWith("-")).findFirst().orElse(null);
            if (option != null) return "Unknown option: '" + option + "'";
        }
        return e.getMessage();
    }

    private static String orList(List<String> items) {
        List<String> quoted = items.stream().limit(3).toList();
        if (quoted.size() == 1) return quoted.get(0);
        return String.join(", ", quoted.subList(0, quoted.size() - 1)) + " or " + quoted.get(quoted.size() - 1);
    }

    /** The top-level list of subcommands: each with its one-sentence summary from {@link TaskbatchCommand#SUMMARIES}. */
    private static String commandList(CommandLine.Help help) {
        Map<String, CommandLine.Help> subcommands = help.subcommands();
        if (subcommands.isEmpty()) return "";
        int width = subcommands.entrySet().stream().filter(e -> !e.getValue().commandSpec().usageMessage().hidden())
                .mapToInt(e -> e.getKey().length()).max().orElse(0);
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, CommandLine.Help> sub : subcommands.entrySet()) {
            CommandSpec spec = sub.getValue().commandSpec();
            if (spec.usageMessage().hidden()) continue;
            String summary = TaskbatchCommand.SUMMARIES.getOrDefault(spec.name(), firstSentence(spec));
            sb.append("  ").append(String.format("%-" + width + "s", sub.getKey())).append("  ").append(summary)
                    .append(System.lineSeparator());
        }
        return sb.toString();
    }

    private static String firstSentence(CommandSpec spec) {
        String text = String.join(" ", spec.usageMessage().description());
        int end = text.indexOf(". ");
        return end < 0 ? text : text.substring(0, end + 1);
    }
}
