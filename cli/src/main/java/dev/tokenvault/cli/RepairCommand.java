package dev.tokenvault.cli;

import dev.tokenvault.RepairReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

@Command(name = "repair", description = {
    "Runs verify; when it finds a problem, rebuilds the index maps from the records (same index key).",
    "Records that fail authentication are reported and left out, never guessed at.",
    "Exit code 0 when the store was clean or is now, 3 when problems remain (listed by record id)."})
final class RepairCommand extends MaintenanceCommand {
    @Override
    public Integer call() {
        Render r = root.render();
        RepairReport report = runOnStore("repair", vault -> vault.repair());
        boolean clean = report.before().isClean() || report.problems().isEmpty();
        if (r.json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("problemsFound", report.before().problems());
            doc.put("rebuilt", report.rebuilt());
            doc.put("recordsIndexed", report.recordsIndexed());
            doc.put("problemsLeft", report.problems());
            doc.put("clean", clean);
            r.json(doc);
        } else if (!report.rebuilt()) {
            r.out.println("nothing to repair: verify found no problem in " + report.before().recordsChecked()
                    + " record(s)");
        } else {
            lines(r, report.before().problems().size() + " problem(s) found:", report.before().problems());
            r.out.println("rebuilt the index maps from " + report.recordsIndexed() + " record(s)");
            if (!report.problems().isEmpty()) {
                lines(r, report.problems().size() + " problem(s) left:", report.problems());
            }
        }
        r.out.flush();
        return clean ? ExitCode.OK : ExitCode.KEY_OR_INTEGRITY;
    }

    static void lines(Render r, String heading, List<String> lines) {
        r.out.println(heading);
        for (String line : lines) {
            r.out.println("  " + Text.safe(line));
        }
    }
}
