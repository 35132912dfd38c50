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
    public List<string> Positional { get; } = [];

    public Arguments(string[] args, params string[] known)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var a = args[i];
            if (!a.StartsWith("--")) { Positional.Add(a); continue; }
            var name = a[2..];
            string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            if (!known.Contains(name)) throw new UsageException($"unknown option --{name}; known: {string.Join(", ", known.Select(k => "--" + k))}");
            if (value is null)
            {
                if (i + 1 >= args.Length) throw new UsageException($"--{name} needs a value");
                value = args[++i];
            }
            _options[name] = value;
        }
    }

    public string? this[string name] => _options.GetValueOrDefault(name);
}
