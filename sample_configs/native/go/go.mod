module validatord

go 1.19
