module airwave.local/git-sync

go 1.26.8
