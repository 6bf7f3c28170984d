/* The text monitor's commands: one table, so `help` and dispatch cannot disagree. */
#ifndef HVMON_COMMANDS_H
#define HVMON_COMMANDS_H

struct command {
    const char *name;
    const char *usage;
    const char *help;
    int min_args, max_args;
    void (*run)(int argc, char **argv);
};

extern const struct command commands[];

/* Also printed as the banner at start-up. */
void print_info(void);

#endif
