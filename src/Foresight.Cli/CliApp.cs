namespace Foresight.Cli;

/// <summary>The `foresight` command: one verb per task. Exit codes: 0 done, 2 bad input or usage, 1 failure.</summary>
public static class CliApp
{
    public const int Ok = 0, Failed = 1, BadInput = 2;

    const string Usage = """
        usage: foresight <verb> [arguments]

          stats ANSWERS.csv [--kind likert|rand9|year|rank] [--min N] [--max N] [--agree 6,7]
                            [--fam-weights 1:0,2:0.5,3:0.75,4:1]
              consensus statistics of a long answer file (round,item_id,expert_id,familiarity,answer), as JSON
          validate SURVEY.yaml
              checks a survey file and prints every problem with its line and column
          backup DB.db OUT.db [--force]
              a consistent copy of a Foresight database, also while the server writes to it (SQLite's online
              backup), checked with integrity_check; an existing OUT is replaced only with --force
          restore BACKUP.db DB.db
              checks a backup and puts it in place of DB; stop the server first. The database as it was is
              kept as DB.db.before-restore-<time>
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            await stdout.WriteLineAsync(Usage);
            return args.Length == 0 ? BadInput : Ok;
        }
        var rest = args[1..];
        try
        {
            return args[0] switch
            {
                "stats" => StatsCommand.Run(rest, stdout, stderr),
                "validate" => ValidateCommand.Run(rest, stdout, stderr),
                "backup" => BackupCommand.Backup(rest, stdout, stderr),
                "restore" => BackupCommand.Restore(rest, stdout, stderr),
                _ => Fail(stderr, $"unknown verb '{args[0]}'\n\n{Usage}"),
            };
        }
        catch (UsageException e)
        {
            return Fail(stderr, $"foresight {args[0]}: {e.Message}");
        }
    }

    internal static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        return BadInput;
    }
}

/// <summary>Wrong arguments: exit code 2 with the message.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Parses "--name value" options and positional arguments.</summary>
internal sealed class Arguments
{
    readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = [];

    public Arguments(string[] args, params string[] known) : this(args, known, []) { }

    /// <param name="flags">options that take no value, such as --force</param>
    public Arguments(string[] args, string[] known, string[] flags)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--")) { Positional.Add(a); continue; }
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            if (flags.Contains(name))
            {
                if (value is not null) throw new UsageException($"--{name} takes no value");
                _flags.Add(name);
                continue;
            }
            if (!known.Contains(name))
                throw new UsageException($"unknown option --{name}; known: {string.Join(", ", known.Concat(flags).Select(k => "--" + k))}");
            if (value is null)
            {
                if (i + 1 >= args.Length) throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            _options[name] = value;
        }
    }

    public string? this[string name] => _options.GetValueOrDefault(name);

    public bool Has(string flag) => _flags.Contains(flag);
}
